// The extent of the generation a style shows: the server's style gives its
// level sources the generation's bounds (and a center that is theirs), so
// every map opens on the city that is loaded, whichever it is.
export function styleBounds(style) {
  const b = style?.sources?.districts?.bounds;
  if (!Array.isArray(b) || b.length !== 4 || !(b[0] < b[2] && b[1] < b[3])) return null;
  return [[b[0], b[1]], [b[2], b[3]]];
}

// mapOptions are the options that open a map on a style object's extent.
export function extentOptions(style, padding = 30) {
  const bounds = styleBounds(style);
  return bounds ? { bounds, fitBoundsOptions: { padding } } : { center: style.center, zoom: style.zoom ?? 10 };
}
