// The GIS workspace: import, merge, activate (to be built: issue 8).
export function mountGis(root, ctx) {}
