// Canvas drawing shared by the flight view (render.js), its weapon effects (fx.js) and the maps
// (maps.js): the glows, pulsing beacon rings, outlined shapes and labels they all draw the same
// way. No state here.

const FONT = 'system-ui, -apple-system, "Segoe UI", "DejaVu Sans", Roboto, sans-serif';

/** The canvas font of labels on the view and the maps. */
export function labelFont(size, bold = false) {
  return `${bold ? "600 " : ""}${size}px ${FONT}`;
}

/**
 * Text in `colour` with a dark `halo` round its letters, legible over stars and planets alike.
 * Server text is drawn with fillText: never parsed as markup.
 */
export function haloText(ctx, s, x, y, colour, halo) {
  ctx.lineWidth = 3;
  ctx.lineJoin = "round";
  ctx.strokeStyle = halo;
  ctx.strokeText(s, x, y);
  ctx.fillStyle = colour;
  ctx.fillText(s, x, y);
}

/** A closed polygon through `points` ([x, y] pairs), filled with `fill`, outlined in `outline`. */
export function outlinedPolygon(ctx, points, fill, outline, lineWidth) {
  ctx.beginPath();
  for (const [x, y] of points) ctx.lineTo(x, y); // the first lineTo of a path starts it
  ctx.closePath();
  ctx.fillStyle = fill;
  ctx.fill();
  ctx.strokeStyle = outline;
  ctx.lineWidth = lineWidth;
  ctx.stroke();
}

/**
 * A glowing disc: a circle of radius `r` at (x, y) filled with a radial gradient whose `stops`
 * ([offset, css colour] pairs) run from radius `inner` out to the rim.
 */
export function glowDisc(ctx, x, y, r, stops, inner = 0) {
  const g = ctx.createRadialGradient(x, y, inner, x, y, r);
  for (const [offset, colour] of stops) g.addColorStop(offset, colour);
  ctx.fillStyle = g;
  ctx.beginPath();
  ctx.arc(x, y, r, 0, Math.PI * 2);
  ctx.fill();
}

/**
 * A beacon's pulse: `count` rings around (x, y), evenly out of step over a `periodMs` cycle, each
 * growing from radius `r0` to `r0 + grow` while it fades from `alpha` to nothing. `rgb` is
 * "r, g, b".
 */
export function pulseRings(ctx, x, y, nowMs, { count, periodMs, r0, grow, rgb, alpha }) {
  ctx.lineWidth = 2;
  for (let i = 0; i < count; i++) {
    const f = (nowMs / periodMs + i / count) % 1;
    ctx.beginPath();
    ctx.arc(x, y, r0 + f * grow, 0, Math.PI * 2);
    ctx.strokeStyle = `rgba(${rgb}, ${alpha * (1 - f)})`;
    ctx.stroke();
  }
}
