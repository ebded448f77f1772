/* audioguide's phone player: a stop's images. The open stop shows its main image in a <picture>
   (WebP with a JPEG fallback, a width for each screen), with its alt text and credit; the list
   shows each stop's thumbnail. Every image has its width and height, so the page keeps its place
   for it before it loads: nothing moves when it comes. Uses: ui. */
"use strict";

const images = (() => {
  const { $, make, setText } = ui;
  const SIZES = "(min-width: 60rem) 44rem, 100vw"; // the stop's panel: the page's width on a phone

  function srcset(files) { return files.map(([file, width]) => `${encodeURI(file)} ${width}w`).join(", "); }

  /* The open stop's main image, or none. */
  function show(stop) {
    const figure = $("now-figure");
    const image = stop.image;
    figure.hidden = !image;
    if (!image) return;
    const img = $("now-image");
    const source = $("now-webp");
    source.srcset = srcset(image.webp);
    source.sizes = SIZES;
    img.width = image.width;
    img.height = image.height;
    img.srcset = srcset(image.jpeg);
    img.sizes = SIZES;
    img.src = encodeURI(image.jpeg[0][0]);
    img.alt = image.alt || "";
    if (image.lang) img.lang = image.lang; else img.removeAttribute("lang");
    const credit = $("now-credit");
    credit.hidden = !image.credit;
    if (image.credit) setText(credit, "credit", { credit: image.credit });
  }

  /* A stop's thumbnail for the list (its smallest width), or null: beside the stop's title, it says nothing more. */
  function thumb(stop) {
    const image = stop.image;
    if (!image) return null;
    const picture = make("picture", "stop-picture");
    const source = make("source");
    source.type = "image/webp";
    source.srcset = encodeURI(image.webp[0][0]);
    const img = make("img", "stop-thumb");
    img.src = encodeURI(image.jpeg[0][0]);
    img.width = image.jpeg[0][1];
    img.height = image.jpeg[0][2];
    img.alt = "";
    img.loading = "lazy";
    img.decoding = "async";
    picture.appendChild(source);
    picture.appendChild(img);
    return picture;
  }

  return { show, thumb };
})();
