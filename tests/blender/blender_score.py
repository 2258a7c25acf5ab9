"""Run inside ``blender -b --factory-startup --python THIS -- SPEC.json``: build a sequence from
the spec's clips, press "Score selection" against the spec's server, write what it placed."""

import json
import sys

import bpy

spec = json.loads(open(sys.argv[sys.argv.index("--") + 1]).read())
sys.path.insert(0, spec["addon_dir"])
import v2m_score  # noqa: E402

v2m_score.register()
scene = bpy.context.scene
scene.render.fps, scene.render.fps_base = spec["fps"], spec["fps_base"]
scene.frame_start = 1
editor = scene.sequence_editor_create()
for clip in spec["clips"]:
    meta = None
    holder = editor.sequences
    if clip.get("meta"):  # inside a meta strip on that channel
        meta = editor.sequences.new_meta(f"meta {clip['name']}", clip["channel"], 1)
        holder = meta.sequences
    strip = holder.new_movie(clip["name"], clip["path"], clip["channel"], 1)
    strip.frame_offset_start = clip["source_first"]
    strip.frame_start = clip["first"] - clip["source_first"]
    strip.frame_final_duration = clip["frames"]
    strip.mute = clip.get("mute", False)
    if clip.get("speed"):  # a Speed Control strip over it, one channel up, at this factor
        effect = editor.sequences.new_effect(
            f"{clip['name']} speed", "SPEED", clip["channel"] + 1, clip["first"], seq1=strip
        )
        effect.speed_control, effect.speed_factor = "MULTIPLY", clip["speed"]
    if meta is not None:  # open the meta's handles onto its content (end first, then start)
        meta.frame_final_end = strip.frame_final_end
        meta.frame_final_start = strip.frame_final_start
scene.frame_end = spec["scene_end"]
scene.use_preview_range = True
scene.frame_preview_start, scene.frame_preview_end = spec["selection"]
result = bpy.ops.sequencer.v2m_score_selection(server=spec["server"], prompt="driving drums")
placed = {
    "result": sorted(result),
    "sounds": [
        {"channel": s.channel, "frame_start": s.frame_final_start, "path": s.sound.filepath}
        for s in editor.sequences_all
        if s.type == "SOUND"
    ],
    "markers": sorted((m.frame, m.name) for m in scene.timeline_markers),
    "curve": list(scene["v2m_curve"]["curve"]) if "v2m_curve" in scene else [],
    "draw_handlers": len(v2m_score._DRAW_HANDLES),
    "strips": [
        (s.name, s.type, s.channel, s.frame_final_start, s.frame_final_end)
        for s in editor.sequences_all
        if s.type in ("MOVIE", "META")
    ],
}
with open(spec["out"], "w") as out:
    json.dump(placed, out)
