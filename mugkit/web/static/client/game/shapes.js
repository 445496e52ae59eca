// Drawing mugkit.draw shapes (mugkit/runtime/draw.py) on a 2D canvas context whose transform
// maps canvas pixels of the step's width × height. Each shape is drawn exactly as draw.py defines
// it: rect (top-left x, y, w, h), circle (centre x, y, radius r), line (polyline through points,
// `width`), polygon (closed, filled), text (anchor at x, y on the baseline, `align`), sprite
// (an image, or an atlas frame, in the box x, y, w, h). `color` fills, `stroke` outlines with
// `line_width` (none when null).

export const FONT_FAMILY = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';

function fillAndStroke(ctx, shape) {
  if (shape.color) {
    ctx.fillStyle = shape.color;
    ctx.fill();
  }
  if (shape.stroke && shape.line_width > 0) {
    ctx.strokeStyle = shape.stroke;
    ctx.lineWidth = shape.line_width;
    ctx.stroke();
  }
}

function path(ctx, points, close) {
  ctx.beginPath();
  points.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
  if (close) ctx.closePath();
}

const DRAW = {
  rect(ctx, s) {
    ctx.beginPath();
    ctx.rect(s.x, s.y, s.w, s.h);
    fillAndStroke(ctx, s);
  },

  circle(ctx, s) {
    ctx.beginPath();
    ctx.arc(s.x, s.y, s.r, 0, 2 * Math.PI);
    fillAndStroke(ctx, s);
  },

  line(ctx, s) {
    if (!Array.isArray(s.points) || s.points.length < 2 || !(s.width > 0) || !s.color) return;
    path(ctx, s.points, false);
    ctx.strokeStyle = s.color;
    ctx.lineWidth = s.width;
    ctx.lineJoin = "round";
    ctx.lineCap = "round";
    ctx.stroke();
  },

  polygon(ctx, s) {
    if (!Array.isArray(s.points) || s.points.length < 3) return;
    path(ctx, s.points, true);
    ctx.lineJoin = "round";
    fillAndStroke(ctx, s);
  },

  text(ctx, s) {
    if (!s.color || !(s.size > 0)) return;
    ctx.font = `${s.size}px ${FONT_FAMILY}`;
    ctx.textAlign = s.align === "center" || s.align === "right" ? s.align : "left";
    ctx.textBaseline = "alphabetic";
    ctx.fillStyle = s.color;
    ctx.fillText(String(s.text ?? ""), s.x, s.y);
  },

  sprite(ctx, s, images) {
    if (!(s.w > 0 && s.h > 0) || typeof s.image !== "string") return;
    const img = images.image(s.image);
    if (!img) return;
    if (s.atlas === undefined || s.atlas === null) {
      smoothing(ctx, img.naturalWidth, img.naturalHeight, s);
      ctx.drawImage(img, s.x, s.y, s.w, s.h);
      return;
    }
    const frames = images.atlas(s.atlas);
    if (!frames) return;
    const f = frames.get(s.frame);
    if (!f) {
      images.warn(`${s.atlas}#${s.frame}`, `atlas ${s.atlas} has no frame ${JSON.stringify(s.frame)}`);
      return;
    }
    // The frame's original (untrimmed) size fills the box; a trimmed frame sits at its offset.
    const kx = s.w / f.sourceW;
    const ky = s.h / f.sourceH;
    const dx = s.x + f.offsetX * kx;
    const dy = s.y + f.offsetY * ky;
    const dw = f.w * kx;
    const dh = f.h * ky;
    smoothing(ctx, f.sourceW, f.sourceH, s);
    if (!f.rotated) {
      ctx.drawImage(img, f.x, f.y, f.w, f.h, dx, dy, dw, dh);
      return;
    }
    // Stored turned 90° clockwise (h wide, w tall in the sheet): turn it back.
    ctx.save();
    ctx.translate(dx, dy + dh);
    ctx.rotate(-Math.PI / 2);
    ctx.drawImage(img, f.x, f.y, f.h, f.w, 0, 0, dh, dw);
    ctx.restore();
  },
};

/** Pixel art scaled up by 2× or more stays crisp; anything else is smoothed. */
function smoothing(ctx, sourceW, sourceH, s) {
  const scale = ctx.getTransform().a * Math.min(s.w / sourceW, s.h / sourceH);
  ctx.imageSmoothingEnabled = !(scale >= 2);
}

export const KINDS = Object.keys(DRAW);

/** Draw one shape; unknown kinds are skipped (and reported once by the caller). */
export function drawShape(ctx, shape, images) {
  const draw = DRAW[shape?.type];
  if (!draw) return false;
  draw(ctx, shape, images);
  return true;
}
