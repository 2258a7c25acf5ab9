/* Runs nle_plugins/premiere/host_premiere.js against a fake of the documented Premiere UXP
 * API that replays a recorded sequence (fixtures/premiere_sequence.json) and records every
 * call. Prints JSON: {selection, otioText, placed, calls}.
 *
 *   node premiere_fake.js SEQUENCE.json                    → read the selection
 *   node premiere_fake.js SEQUENCE.json EVENTS.json OUTDIR → also place the result: EVENTS is
 *     the Score stream (proto JSON); the mix is rebuilt from its stem chunks by stems.js and
 *     written into OUTDIR through the fake uxp.storage */
"use strict";
const fs = require("fs");
const path = require("path");

const panel = path.join(__dirname, "..", "..", "nle_plugins");
require(path.join(panel, "panel", "js", "timeline_view.js")); // V2M.timecode (no DOM at load)
require(path.join(panel, "panel", "js", "stems.js"));
require(path.join(panel, "premiere", "host_premiere.js"));
const V2M = globalThis.V2M;
V2M.fromBase64 = (text) => new Uint8Array(Buffer.from(text || "", "base64"));

const [sequenceFile, eventsFile, outDir] = process.argv.slice(2);
const recorded = JSON.parse(fs.readFileSync(sequenceFile, "utf8"));
const calls = [];
const rec = (name, ...args) => calls.push([name, ...args]);
const tick = (seconds) => ({ seconds, ticks: String(Math.round(seconds * 254016000000)) });
const secondsOf = (t) => (t && t.seconds !== undefined ? t.seconds : t);

const rootItems = [];
const actions = [];
const action = (kind, ...args) => ({ kind, args });
const markersObject = {
  getMarkers: () => {
    rec("markers.getMarkers");
    return recorded.markers.map((m) => ({
      getName: () => (rec("marker.getName"), m.name),
      getStart: () => (rec("marker.getStart"), tick(m.startS)),
      getComments: () => (rec("marker.getComments"), m.comments),
    }));
  },
  createAddMarkerAction: (name, type, start, duration, comments) => {
    rec("markers.createAddMarkerAction", name, type, secondsOf(start), secondsOf(duration), comments);
    return action("addMarker", name, secondsOf(start));
  },
};
const trackItem = (clip) => ({
  getName: async () => (rec("item.getName"), clip.name),
  getStartTime: async () => (rec("item.getStartTime"), tick(clip.startS)),
  getEndTime: async () => (rec("item.getEndTime"), tick(clip.endS)),
  getInPoint: async () => (rec("item.getInPoint"), tick(clip.inPointS)),
  isDisabled: async () => (rec("item.isDisabled"), clip.disabled),
  getProjectItem: async () => (rec("item.getProjectItem"), { name: clip.name, path: clip.path }),
});
const sequence = {
  name: recorded.name,
  getTimebase: async () => (rec("sequence.getTimebase"), recorded.timebase),
  getInPoint: async () => (rec("sequence.getInPoint"), tick(recorded.inS)),
  getOutPoint: async () => (rec("sequence.getOutPoint"), tick(recorded.outS)),
  getEndTime: async () => (rec("sequence.getEndTime"), tick(recorded.endS)),
  getVideoTrackCount: async () => (rec("sequence.getVideoTrackCount"), recorded.videoTracks.length),
  getVideoTrack: async (i) => {
    rec("sequence.getVideoTrack", i);
    return {
      getTrackItems: (type, includeEmpty) => {
        rec("track.getTrackItems", type, includeEmpty);
        return recorded.videoTracks[i].map(trackItem);
      },
    };
  },
  getAudioTrackCount: async () => (rec("sequence.getAudioTrackCount"), recorded.audioTrackCount),
};
const project = {
  getActiveSequence: async () => (rec("project.getActiveSequence"), sequence),
  importFiles: async (paths, suppressUI, bin, stills) => {
    rec("project.importFiles", paths, suppressUI, bin, stills);
    for (const p of paths) rootItems.push({ name: path.basename(p), path: p });
    return true;
  },
  getRootItem: async () => (rec("project.getRootItem"), { getItems: async () => (rec("root.getItems"), rootItems) }),
  lockedAccess: (callback) => (rec("project.lockedAccess"), callback()),
  executeTransaction: (callback, undo) => {
    rec("project.executeTransaction", undo);
    callback({ addAction: (a) => (rec("compound.addAction", a.kind), actions.push(a)) });
    return true;
  },
};
const ppro = {
  Constants: { TrackItemType: { EMPTY: 0, CLIP: 1, TRANSITION: 2, PREVIEW: 3, FEEDBACK: 4 } },
  Project: { getActiveProject: async () => (rec("Project.getActiveProject"), project) },
  ClipProjectItem: {
    cast: (item) => (rec("ClipProjectItem.cast"), {
      getMediaFilePath: async () => (rec("clip.getMediaFilePath"), item.path),
    }),
  },
  Markers: { getMarkers: async (owner) => (rec("Markers.getMarkers", owner.name), markersObject) },
  Marker: { MARKER_TYPE_COMMENT: "Comment" },
  TickTime: { createWithSeconds: (s) => (rec("TickTime.createWithSeconds", s), tick(s)), TIME_ZERO: tick(0) },
  SequenceEditor: {
    getEditor: (seq) => {
      rec("SequenceEditor.getEditor", seq.name);
      return {
        createInsertProjectItemAction: (item, time, video, audio, limitShift) => {
          rec("editor.createInsertProjectItemAction", item.name, secondsOf(time), video, audio, limitShift);
          return action("insert", item.name, secondsOf(time), audio);
        },
      };
    },
  },
};
const uxp = {
  storage: {
    formats: { binary: "binary", utf8: "utf8" },
    localFileSystem: {
      getTemporaryFolder: async () => {
        rec("localFileSystem.getTemporaryFolder");
        return {
          createFile: async (name, options) => {
            rec("folder.createFile", name, options);
            const nativePath = path.join(outDir, name);
            return {
              nativePath,
              write: async (data, options2) => {
                rec("file.write", data.byteLength, options2);
                fs.writeFileSync(nativePath, Buffer.from(data));
              },
            };
          },
        };
      },
    },
  },
};

(async () => {
  const host = V2M.createPremiereHost({ ppro, uxp });
  const selection = await host.getSelection();
  const out = {
    selection: { label: selection.label, inS: selection.inS, outS: selection.outS, fps: selection.fps, filename: selection.upload.filename },
    otioText: Buffer.from(selection.upload.blob).toString("utf8"),
  };
  if (eventsFile) {
    const events = JSON.parse(fs.readFileSync(eventsFile, "utf8"));
    const assembler = new V2M.StemAssembler();
    let result = null;
    for (const e of events) {
      if (e.stem) assembler.add(e.stem);
      if (e.result) result = e.result;
    }
    out.placed = await host.placeResult({ assembler, result, plan: result.plan });
  }
  out.calls = calls;
  process.stdout.write(JSON.stringify(out));
})().catch((error) => {
  process.stderr.write(String(error && error.stack ? error.stack : error));
  process.exit(1);
});
