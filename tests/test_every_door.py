"""Every door reaches every scoring option. A field added to ScoreOptions fails these tests
until the proto, the command line, the watch-folder sidecar and the panel each carry it."""

import dataclasses
import re
import tomllib

import pytest

from tests.helpers import REPO
from v2m.model.options import ScoreOptions
from v2m.model.styles import PRESETS
from v2m.nle_plugins.client import REQUEST_FIELDS, request_fields
from v2m.server.cli import build_parser
from v2m.server.cli_options import options_from_args
from v2m.server.convert import options_from_request
from v2m.server.watch import SIDECAR_KEYS, job_request
from v2m.v1 import scoring_pb2 as pb

EVERY_OPTION = ScoreOptions(
    prompt="dark trailer",
    style="orchestral",
    bpm=96.5,
    key="D minor",
    meter=3,
    stems=("drums", "harmony"),
    seed=7,
    markers_s=(1.5, 2.25),
    in_s=0.5,
    out_s=5.5,
    backend="retime",
    backend_options={},
    music="library/our track.flac",
    duck_dialogue=True,
    preview=False,
    plot=False,
    track_per_stem=True,
)
"""Every field away from its default (backend_options: left to the tests below)."""

CLI_FLAGS = {
    "prompt": ["--prompt", "dark trailer"],
    "style": ["--style", "orchestral"],
    "bpm": ["--bpm", "96.5"],
    "key": ["--key", "D minor"],
    "meter": ["--meter", "3"],
    "stems": ["--stems", "drums,harmony"],
    "seed": ["--seed", "7"],
    "markers_s": ["--marker", "1.5", "--marker", "2.25"],
    "in_s": ["--in", "0.5"],
    "out_s": ["--out-point", "5.5"],
    "backend": ["--backend", "retime"],
    "backend_options": [],
    "music": ["--music", "library/our track.flac"],
    "duck_dialogue": ["--duck-dialogue"],
    "preview": ["--no-preview"],
    "plot": ["--no-plot"],
    "track_per_stem": ["--track-per-stem"],
}
"""How ``v2m score`` spells each option (``v2m timeline score`` the same, with timecode or
seconds for --in/--out)."""


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def test_the_tables_name_every_option():
    fields = set(ScoreOptions.field_names())
    assert set(REQUEST_FIELDS) == fields
    assert set(CLI_FLAGS) == fields
    assert set(SIDECAR_KEYS) == (fields - {"in_s", "out_s"}) | {"in", "out"}
    proto_fields = {f.name for f in pb.ScoreRequest.DESCRIPTOR.fields}
    assert set(REQUEST_FIELDS.values()) <= proto_fields


def test_grpc_and_the_bridge_carry_every_option():
    request = pb.ScoreRequest(media=pb.MediaRef(path="x.mp4"), **request_fields(EVERY_OPTION))
    assert options_from_request(request) == EVERY_OPTION
    flow = ScoreOptions(backend="flow", backend_options={"checkpoint": "models/v1"})
    request = pb.ScoreRequest(**request_fields(flow))
    assert options_from_request(request) == flow


def test_the_command_line_carries_every_option():
    argv = [token for flags in CLI_FLAGS.values() for token in flags]
    args = build_parser().parse_args(["score", "x.mp4", "-o", "out", *argv])
    assert options_from_args(args, in_s=args.in_s, out_s=args.out_s) == EVERY_OPTION
    timeline_argv = [a if a != "--out-point" else "--out" for a in argv]
    args = build_parser().parse_args(["timeline", "score", "t.otio", "-o", "out", *timeline_argv])
    assert options_from_args(args, in_s=float(args.in_point), out_s=float(args.out_point)) == (
        EVERY_OPTION
    )
    args = build_parser().parse_args(
        ["score", "x.mp4", "-o", "o", "--backend", "flow", "--backend-option", "checkpoint=c"]
    )
    assert options_from_args(args).backend_options == {"checkpoint": "c"}


def test_the_watch_folder_sidecar_carries_every_option(tmp_path):
    lines = ["[score]"]
    for name in ScoreOptions.field_names():
        value = getattr(EVERY_OPTION, name)
        key = {"in_s": "in", "out_s": "out"}.get(name, name)
        if isinstance(value, str):
            lines.append(f'{key} = "{value}"')
        elif isinstance(value, bool):
            lines.append(f"{key} = {str(value).lower()}")
        elif isinstance(value, tuple):
            lines.append(f"{key} = {list(value)!r}".replace("'", '"'))
        elif isinstance(value, dict):
            lines.append(f"{key} = {{}}")
        else:
            lines.append(f"{key} = {value!r}")
    table = tomllib.loads("\n".join(lines))["score"]
    _, options = job_request(tmp_path / "clip.mp4", table, preview=True)
    music = str(tmp_path / EVERY_OPTION.music)  # relative: from the input's folder
    assert options == dataclasses.replace(EVERY_OPTION, music=music)


def test_the_panel_has_a_control_for_every_option():
    html = (REPO / "nle_plugins" / "panel" / "index.html").read_text()
    controls = set(re.findall(r'data-option="(\w+)"', html))
    assert controls == {_camel(name) for name in REQUEST_FIELDS.values()}
    styles = re.search(r'<select id="opt-style".*?</select>', html, re.S).group(0)
    assert sorted(re.findall(r"<option>(\w+)</option>", styles)) == sorted(PRESETS)


@pytest.mark.parametrize("bad", [{"colour": "blue"}, {"seeds": 3}])
def test_the_client_refuses_options_it_does_not_know(bad):
    with pytest.raises(ValueError, match="unknown scoring options"):
        request_fields(bad)


def test_music_means_the_retime_backend_at_every_door(tmp_path):
    args = build_parser().parse_args(["score", "x.mp4", "-o", "o", "--music", "mine.flac"])
    options = options_from_args(args)
    assert options.backend == "retime" and options.music == "mine.flac"
    assert options.backend_settings() == {"music": "mine.flac"}
    plain = options_from_args(build_parser().parse_args(["score", "x.mp4", "-o", "o"]))
    assert plain.backend == "composer" and plain.music is None
    request = pb.ScoreRequest(media=pb.MediaRef(path="x.mp4"), music="lib")
    assert options_from_request(request).backend == "retime"
    _, from_sidecar = job_request(tmp_path / "clip.mp4", {"music": "/lib"}, preview=True)
    assert from_sidecar.backend == "retime" and from_sidecar.music == "/lib"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"music": "x.flac", "backend": "flow"}, "retime backend.*'flow'"),
        ({"music": "  "}, "empty"),
        ({"music": "a.flac", "backend_options": {"music": "b.flac"}}, "given twice"),
    ],
)
def test_music_that_cannot_be_meant_is_refused(values, message):
    from v2m.model.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match=message):
        ScoreOptions(**values)
