/* The selection at a glance: a timecode ruler, the video event curve, the cuts and the hits
 * (planned while the server analyses; planned → achieved once the music is made). Times are
 * seconds from the selection's in point. */
(function (V2M) {
  "use strict";

  /** "HH:MM:SS:FF" for seconds at fps (non-drop; drop-frame rates shown at their nominal). */
  V2M.timecode = function (seconds, fps) {
    const nominal = Math.max(1, Math.round(fps || 25));
    const frames = Math.round(Math.max(0, seconds) * (fps || 25));
    const ff = frames % nominal;
    const total = Math.floor(frames / nominal);
    const pad = (n) => String(n).padStart(2, "0");
    return `${pad(Math.floor(total / 3600))}:${pad(Math.floor(total / 60) % 60)}:${pad(total % 60)}:${pad(ff)}`;
  };

  const COLORS = {
    curve: "#4fc3f7",
    cut: "#ff7043",
    marker: "#ffd54f",
    peak: "#ba68c8",
    motion_beat: "#81c784",
    beat: "rgba(255,255,255,0.18)",
    ruler: "#9e9e9e",
  };

  class TimelineView {
    constructor(canvas) {
      this.canvas = canvas;
      this.reset();
    }

    reset() {
      this.curve = null; // {startS, rateHz, values}
      this.hits = []; // [{kind, plannedS, achievedS?, strength}]
      this.beats = [];
      this.durationS = 0;
      this.fps = 25;
      this.draw();
    }

    setCurve(curve) {
      this.curve = {
        startS: curve.startS || 0,
        rateHz: curve.rateHz,
        values: curve.values || [],
      };
      const end = this.curve.startS + this.curve.values.length / this.curve.rateHz;
      this.durationS = Math.max(this.durationS, end);
      this.draw();
    }

    setPlan(plan) {
      this.hits = plan.hits || [];
      this.beats = plan.beatsS || [];
      if (plan.frameRateHz) this.fps = plan.frameRateHz;
      if (plan.durationS) this.durationS = plan.durationS;
      this.draw();
    }

    /** Whether anything of the curve is on the canvas (tests read it). */
    get curveDrawn() {
      return Boolean(this.curve && this.curve.values.length);
    }

    draw() {
      const c = this.canvas;
      const ctx = c.getContext("2d");
      const w = c.width;
      const h = c.height;
      ctx.clearRect(0, 0, w, h);
      ctx.fillStyle = "#1e1e1e";
      ctx.fillRect(0, 0, w, h);
      if (!this.durationS) return;
      const rulerH = 18;
      const x = (s) => (s / this.durationS) * (w - 1);
      this._ruler(ctx, w, rulerH, x);
      const top = rulerH + 4;
      const plotH = h - top - 4;
      ctx.strokeStyle = COLORS.beat;
      for (const b of this.beats) this._vline(ctx, x(b), top, plotH);
      if (this.curve && this.curve.values.length) {
        const v = this.curve.values;
        const lo = Math.min(...v);
        const hi = Math.max(...v);
        const y = (val) => top + plotH - ((val - lo) / (hi - lo || 1)) * plotH;
        ctx.strokeStyle = COLORS.curve;
        ctx.lineWidth = 2;
        ctx.beginPath();
        v.forEach((val, i) => {
          const px = x(this.curve.startS + i / this.curve.rateHz);
          i ? ctx.lineTo(px, y(val)) : ctx.moveTo(px, y(val));
        });
        ctx.stroke();
        ctx.lineWidth = 1;
      }
      for (const hit of this.hits) {
        ctx.strokeStyle = COLORS[hit.kind] || "#fff";
        ctx.setLineDash(hit.kind === "cut" ? [] : [4, 3]);
        this._vline(ctx, x(hit.plannedS || 0), top, plotH);
        if (hit.achievedS !== undefined) {
          ctx.fillStyle = COLORS[hit.kind] || "#fff";
          ctx.beginPath();
          ctx.arc(x(hit.achievedS), top + 6, 4, 0, 2 * Math.PI);
          ctx.fill();
        }
      }
      ctx.setLineDash([]);
    }

    _vline(ctx, px, top, height) {
      ctx.beginPath();
      ctx.moveTo(px + 0.5, top);
      ctx.lineTo(px + 0.5, top + height);
      ctx.stroke();
    }

    _ruler(ctx, w, height, x) {
      const steps = [0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300];
      const step = steps.find((s) => (this.durationS / s) * 90 <= w) || 600;
      ctx.fillStyle = COLORS.ruler;
      ctx.strokeStyle = COLORS.ruler;
      ctx.font = "10px sans-serif";
      let free = 0; // labels never overlap: the next may start here
      for (let t = 0; t <= this.durationS + 1e-9; t += step) {
        this._vline(ctx, x(t), height - 6, 6);
        const label = V2M.timecode(t, this.fps);
        const width = ctx.measureText(label).width;
        const at = Math.min(x(t) + 2, w - width - 2);
        if (at >= free) {
          ctx.fillText(label, at, 10);
          free = at + width + 8;
        }
      }
    }
  }

  V2M.TimelineView = TimelineView;
})((globalThis.V2M = globalThis.V2M || {}));
