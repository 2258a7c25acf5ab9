/* The Premiere Pro host: every call into Premiere lives here, so the rest of the panel runs
 * unchanged in a browser. The calls are the documented UXP API ("premierepro" module):
 *
 *   Project.getActiveProject, project.getActiveSequence, importFiles, getRootItem,
 *   lockedAccess, executeTransaction  — developer.adobe.com/premiere-pro/uxp/ppro_reference/classes/project/
 *   sequence.getInPoint/getOutPoint/getEndTime/getTimebase/getVideoTrackCount/getVideoTrack/
 *   getAudioTrackCount                — .../classes/sequence/
 *   track.getTrackItems(Constants.TrackItemType.CLIP, false)  — .../classes/videotrack/
 *   item.getStartTime/getEndTime/getInPoint/getProjectItem/isDisabled/getName
 *                                     — .../classes/videocliptrackitem/
 *   ClipProjectItem.cast, clip.getMediaFilePath  — .../classes/clipprojectitem/
 *   Markers.getMarkers(sequence), markers.getMarkers(), createAddMarkerAction,
 *   marker.getStart/getName/getComments, Marker.MARKER_TYPE_COMMENT
 *                                     — .../classes/markers/, .../classes/marker/
 *   TickTime.createWithSeconds, TickTime.TIME_ZERO, tickTime.seconds  — .../classes/ticktime/
 *   SequenceEditor.getEditor(sequence).createInsertProjectItemAction(item, time, videoTrack,
 *   audioTrack, limitShift) ("a track index greater than the number of existing tracks
 *   creates a new track")             — .../classes/sequenceeditor/
 * and UXP's file storage ("uxp" module: storage.localFileSystem.getTemporaryFolder,
 * folder.createFile, file.write(data, {format: storage.formats.binary}), file.nativePath) —
 * developer.adobe.com/premiere-pro/uxp/uxp-api/reference-js/Modules/uxp/Persistent File Storage/.
 * Usage follows Adobe's sample panel (AdobeDocs/uxp-premiere-pro-samples, 3psample-panel).
 *
 * The selection goes to the server as an OTIO timeline (JSON) of the active sequence's video
 * tracks with the clips' media paths and the sequence markers; the server conforms it from
 * the source media and finds the edit points itself. The music comes back as a WAV written
 * to the plugin's temporary folder, imported and inserted on a new audio track at the in
 * point, with a comment marker per placed hit — all in one undoable transaction. */
(function (V2M) {
  "use strict";

  const TICKS_PER_SECOND = 254016000000;

  V2M.premiereAvailable = function () {
    try {
      return typeof require === "function" && Boolean(require("premierepro"));
    } catch (error) {
      return false;
    }
  };

  V2M.premiereModules = function () {
    return { ppro: require("premierepro"), uxp: require("uxp") };
  };

  function rational(seconds, fps) {
    return { OTIO_SCHEMA: "RationalTime.1", rate: fps, value: Math.round(seconds * fps) };
  }

  function range(startS, durationS, fps) {
    return {
      OTIO_SCHEMA: "TimeRange.1",
      start_time: rational(startS, fps),
      duration: rational(durationS, fps),
    };
  }

  /** An OTIO timeline (the JSON object) from what was read off the sequence:
   * tracks: [[{name, path, startS, endS, sourceInS, disabled}]] bottom to top,
   * markers: [{name, startS, comment}]. */
  V2M.sequenceToOtio = function ({ name, fps, tracks, markers }) {
    const children = tracks.map((clips, index) => {
      let at = 0;
      const items = [];
      for (const clip of [...clips].sort((a, b) => a.startS - b.startS)) {
        if (clip.startS > at + 1e-9) {
          items.push({ OTIO_SCHEMA: "Gap.1", name: "", source_range: range(0, clip.startS - at, fps) });
        }
        items.push({
          OTIO_SCHEMA: "Clip.1",
          name: clip.name,
          enabled: !clip.disabled,
          source_range: range(clip.sourceInS, clip.endS - clip.startS, fps),
          media_reference: {
            OTIO_SCHEMA: "ExternalReference.1",
            target_url: clip.path,
            available_range: null,
            metadata: {},
          },
          metadata: {},
          effects: [],
          markers: [],
        });
        at = clip.endS;
      }
      return { OTIO_SCHEMA: "Track.1", name: `V${index + 1}`, kind: "Video", children: items, markers: [], effects: [], metadata: {}, source_range: null };
    });
    return {
      OTIO_SCHEMA: "Timeline.1",
      name,
      global_start_time: null,
      metadata: { v2m: { exported_by: "v2m Premiere panel" } },
      tracks: {
        OTIO_SCHEMA: "Stack.1",
        name: "tracks",
        children,
        effects: [],
        metadata: {},
        source_range: null,
        markers: markers.map((m) => ({
          OTIO_SCHEMA: "Marker.2",
          name: m.name,
          color: "RED",
          comment: m.comment || "",
          metadata: {},
          marked_range: range(m.startS, 0, fps),
        })),
      },
    };
  };

  V2M.createPremiereHost = function ({ ppro, uxp }) {
    let current = null; // {project, sequence, inS, outS, fps}

    async function activeSequence() {
      const project = await ppro.Project.getActiveProject();
      if (!project) throw new Error("open a project in Premiere Pro first");
      const sequence = await project.getActiveSequence();
      if (!sequence) throw new Error("open the sequence to score in the timeline first");
      return { project, sequence };
    }

    async function readTracks(sequence) {
      const tracks = [];
      const count = await sequence.getVideoTrackCount();
      for (let i = 0; i < count; i++) {
        const track = await sequence.getVideoTrack(i);
        const clips = [];
        for (const item of await track.getTrackItems(ppro.Constants.TrackItemType.CLIP, false)) {
          const clip = ppro.ClipProjectItem.cast(await item.getProjectItem());
          const path = clip ? await clip.getMediaFilePath() : "";
          if (!path) continue; // titles, generators, nested sequences: nothing to decode
          clips.push({
            name: await item.getName(),
            path,
            startS: (await item.getStartTime()).seconds,
            endS: (await item.getEndTime()).seconds,
            sourceInS: (await item.getInPoint()).seconds,
            disabled: await item.isDisabled(),
          });
        }
        tracks.push(clips);
      }
      return tracks;
    }

    async function readMarkers(sequence) {
      const markers = await ppro.Markers.getMarkers(sequence);
      const list = markers ? await markers.getMarkers() : [];
      const out = [];
      for (const m of list || []) {
        out.push({ name: await m.getName(), startS: (await m.getStart()).seconds, comment: await m.getComments() });
      }
      return out;
    }

    return {
      name: "premiere",
      describe: () => "music goes on a new audio track at the in point",

      async getSelection() {
        const { project, sequence } = await activeSequence();
        const timebase = Number(await sequence.getTimebase()); // ticks per frame
        const fps = timebase > 0 ? TICKS_PER_SECOND / timebase : 25;
        let inS = (await sequence.getInPoint()).seconds;
        let outS = (await sequence.getOutPoint()).seconds;
        const endS = (await sequence.getEndTime()).seconds;
        if (!(outS > inS) || outS > endS + 1e-6) {
          // no in/out marked: the whole sequence
          inS = 0;
          outS = endS;
        }
        if (!(outS > inS)) throw new Error("the sequence is empty: nothing to score");
        const tracks = await readTracks(sequence);
        if (!tracks.some((clips) => clips.length)) {
          throw new Error("the sequence has no video clips with media files to score");
        }
        const otio = V2M.sequenceToOtio({
          name: sequence.name,
          fps,
          tracks,
          markers: await readMarkers(sequence),
        });
        current = { project, sequence, inS, outS, fps };
        const bytes = new TextEncoder().encode(JSON.stringify(otio));
        return {
          label: `${sequence.name}: ${V2M.timecode(inS, fps)} – ${V2M.timecode(outS, fps)}`,
          media: null,
          upload: { blob: bytes, filename: `${sequence.name || "sequence"}.otio` },
          inS,
          outS,
          markersS: [], // the server reads the markers from the timeline
          fps,
          otio,
        };
      },

      async placeResult({ assembler, result, plan }) {
        if (!current) throw new Error("score a selection first");
        const { project, sequence, inS, fps } = current;
        const storage = uxp.storage;
        const folder = await storage.localFileSystem.getTemporaryFolder();
        const fileName = `v2m-${result.jobId || Date.now()}-mix.wav`;
        const file = await folder.createFile(fileName, { overwrite: true });
        await file.write(assembler.wavBytes("mix").buffer, { format: storage.formats.binary });
        const imported = await project.importFiles([file.nativePath], true, null, false);
        if (!imported) throw new Error(`Premiere did not import ${file.nativePath}`);
        const root = await project.getRootItem();
        const item = (await root.getItems()).find((i) => i.name === fileName);
        if (!item) throw new Error(`imported ${fileName} but cannot find it in the project`);
        const audioTrack = await sequence.getAudioTrackCount(); // one past the last: a new track
        const editor = ppro.SequenceEditor.getEditor(sequence);
        const markers = await ppro.Markers.getMarkers(sequence);
        const hits = (plan && plan.hits) || [];
        let ok = false;
        project.lockedAccess(() => {
          ok = project.executeTransaction((compound) => {
            compound.addAction(
              editor.createInsertProjectItemAction(item, ppro.TickTime.createWithSeconds(inS), 0, audioTrack, true)
            );
            for (const hit of hits) {
              const at = inS + (hit.achievedS !== undefined ? hit.achievedS : hit.plannedS || 0);
              const off = (hit.errorFrames || 0).toFixed(1);
              compound.addAction(
                markers.createAddMarkerAction(
                  `v2m hit: ${hit.kind}`, // "v2m"-named markers are not read back as must-hits
                  ppro.Marker.MARKER_TYPE_COMMENT,
                  ppro.TickTime.createWithSeconds(at),
                  ppro.TickTime.TIME_ZERO,
                  `planned ${V2M.timecode(inS + (hit.plannedS || 0), fps)}, ${off} frames off`
                )
              );
            }
          }, "v2m: score selection");
        });
        if (!ok) throw new Error("Premiere refused the edit (is the sequence locked?)");
        return `placed on audio track A${audioTrack + 1} at ${V2M.timecode(inS, fps)} with ${hits.length} hit markers`;
      },
    };
  };

  if (typeof module !== "undefined" && module.exports) module.exports = V2M;
})((globalThis.V2M = globalThis.V2M || {}));
