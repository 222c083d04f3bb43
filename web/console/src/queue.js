// The incident queue next to the map (to be built: issue 8).
export function mountQueue(root, ctx) {
  root.hidden = true;
}
