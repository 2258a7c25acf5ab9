/* The host for a plain browser (DaVinci Resolve users, anyone scoring a video file): the
 * selection is a video or timeline file (uploaded) or a path inside the server's media
 * roots, with optional in/out; the music comes back as downloads. */
(function (V2M) {
  "use strict";

  /** Seconds from "12.5", "1:02.5" or "00:01:02.5"; null for an empty field. */
  V2M.parseTime = function (text) {
    const t = (text || "").trim();
    if (!t) return null;
    const parts = t.split(":").map(Number);
    if (parts.some((p) => !Number.isFinite(p) || p < 0) || parts.length > 3) {
      throw new Error(`"${t}" is not a time: use seconds (12.5) or [hh:]mm:ss(.s)`);
    }
    return parts.reduce((total, p) => total * 60 + p, 0);
  };

  V2M.createBrowserHost = function (doc) {
    const $ = (id) => doc.getElementById(id);
    return {
      name: "browser",
      describe: () => "music comes back as downloads",

      async getSelection() {
        const file = $("media-file").files[0];
        const path = $("media-path").value.trim();
        if (!file && !path) {
          throw new Error("choose a video (or timeline) file, or give a path on the server");
        }
        const inS = V2M.parseTime($("in-point").value);
        const outS = V2M.parseTime($("out-point").value);
        if (inS !== null && outS !== null && outS <= inS) {
          throw new Error(`out (${outS} s) must come after in (${inS} s)`);
        }
        return {
          label: file ? file.name : path,
          media: file ? null : { path },
          upload: file ? { blob: file, filename: file.name } : null,
          inS: inS || 0,
          outS: outS || 0,
          markersS: [],
        };
      },

      async placeResult({ assembler, result }) {
        const box = $("downloads");
        box.textContent = "";
        const link = (name, blob) => {
          const a = doc.createElement("a");
          a.href = URL.createObjectURL(blob);
          a.download = name;
          a.textContent = name;
          box.appendChild(a);
        };
        link("mix.wav", assembler.wavBlob("mix"));
        for (const name of assembler.names().filter((n) => n !== "mix")) {
          link(`${name}.wav`, assembler.wavBlob(name));
        }
        if (result.midi) link("score.mid", new Blob([V2M.fromBase64(result.midi)]));
        return "downloads ready below (mix, stems, MIDI)";
      },
    };
  };
})((globalThis.V2M = globalThis.V2M || {}));
