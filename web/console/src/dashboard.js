// The dashboard (社情研判) (to be built: issue 8).
export function mountDashboard(root, ctx) {}
