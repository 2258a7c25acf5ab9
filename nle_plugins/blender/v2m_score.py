"""v2m for Blender's Video Sequence Editor: "Score selection" in the sequencer's sidebar (v2m).

A single-file add-on (Blender 3.0 or newer) that talks to a running ``v2m serve`` through its
public WebSocket bridge (the server's HTTP port, ``/v1/ws``) with nothing but Python's standard
library, so it runs in any Blender's own Python. It reads the selection as the editor sees it:
movie strips on their channels (higher channels cover lower ones), Speed Control strips at the
speed they play, meta strips opened, muted strips and channels left out. It sends that as an
OpenTimelineIO timeline (UploadMedia), scores the preview range (or the selected strips, or the
scene) and places the result: the mix (or each stem on its own channel) as sound strips at the
selection's start, a timeline marker per hit named with its timing error, and the selection's
event curve drawn in the timeline above them. The source media must be inside the server's
media roots.

Install: ``v2m blender-addon OUT`` writes this file to OUT; in Blender, Edit > Preferences >
Add-ons > Install... > OUT/v2m_score.py, and enable "Sequencer: v2m Score Selection".
"""

import base64
import json
import os
import socket
import ssl
import struct
import tempfile
import wave
from urllib.parse import urlparse

bl_info = {
    "name": "v2m Score Selection",
    "author": "v2m",
    "version": (0, 1, 0),
    "blender": (3, 0, 0),
    "location": "Sequencer > Sidebar > v2m",
    "description": "Music whose accents land on the selection's cuts, from a v2m server",
    "category": "Sequencer",
}

DEFAULT_SERVER = "ws://127.0.0.1:50052/v1/ws"
UPLOAD_CHUNK_BYTES = 1 << 20


class BridgeError(Exception):
    """The server refused or failed a call; the message is its status and words."""


class Bridge:
    """A WebSocket connection to v2m's bridge: one JSON frame per proto message."""

    def __init__(self, url: str, *, token: str = "", timeout_s: float = 900.0):
        parts = urlparse(url)
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            raise BridgeError(f"server address {url!r} must look like {DEFAULT_SERVER}")
        port = parts.port or (443 if parts.scheme == "wss" else 80)
        try:
            sock = socket.create_connection((parts.hostname, port), timeout=timeout_s)
        except OSError as exc:
            raise BridgeError(
                f"cannot reach the v2m server at {url} ({exc}); is it running?"
            ) from exc
        if parts.scheme == "wss":
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=parts.hostname)
        self.sock, self.token, self.calls, self.buffer = sock, token, 0, b""
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(
            (
                f"GET {parts.path or '/v1/ws'} HTTP/1.1\r\nHost: {parts.hostname}:{port}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status = head.split(b"\r\n", 1)[0].decode(errors="replace")
        if " 101 " not in status + " ":
            raise BridgeError(f"the server refused the WebSocket: {status}")

    def close(self) -> None:
        self.sock.close()

    def _fill(self) -> None:
        data = self.sock.recv(1 << 16)
        if not data:
            raise BridgeError("the server closed the connection")
        self.buffer += data

    def _read(self, n: int) -> bytes:
        while len(self.buffer) < n:
            self._fill()
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    def _send_frame(self, opcode: int, payload: bytes) -> None:
        n = len(payload)
        header = bytes([0x80 | opcode])
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 1 << 16:
            header += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        keys = (mask * (n // 4 + 1))[:n]
        masked = (int.from_bytes(payload, "big") ^ int.from_bytes(keys, "big")).to_bytes(n, "big")
        self.sock.sendall(header + mask + masked)

    def send(self, frame: dict) -> None:
        self._send_frame(0x1, json.dumps(frame).encode())

    def receive(self) -> dict:
        message = b""
        while True:
            first, second = self._read(2)
            length = second & 0x7F
            if length == 126:
                length = struct.unpack(">H", self._read(2))[0]
            elif length == 127:
                length = struct.unpack(">Q", self._read(8))[0]
            data = self._read(length)
            opcode = first & 0x0F
            if opcode == 0x8:
                raise BridgeError("the server closed the connection")
            if opcode == 0x9:
                self._send_frame(0xA, data)
                continue
            if opcode == 0xA:
                continue
            message += data
            if first & 0x80:
                return json.loads(message)

    def call(self, method: str, message, *, stream=None, on_message=None) -> None:
        """Run one RPC: ``message`` opens it; ``stream`` (messages) makes it a client stream;
        ``on_message`` gets each response. Raises BridgeError unless it ends OK."""
        self.calls += 1
        call = self.calls
        metadata = {"authorization": f"Bearer {self.token}"} if self.token else {}
        self.send({"id": call, "method": method, "message": message, "metadata": metadata})
        if stream is not None:
            for item in stream:
                self.send({"id": call, "message": item})
            self.send({"id": call, "end": True})
        while True:
            frame = self.receive()
            if frame.get("id") != call:
                continue
            if "message" in frame and on_message is not None:
                on_message(frame["message"])
            if "status" in frame:
                status = frame["status"]
                if status.get("code") != "OK":
                    raise BridgeError(f"{status.get('code')}: {status.get('message')}")
                return

    def upload(self, data: bytes, filename: str) -> str:
        reply = {}
        chunks = []
        for at in range(0, max(1, len(data)), UPLOAD_CHUNK_BYTES):
            chunk = {"data": base64.b64encode(data[at : at + UPLOAD_CHUNK_BYTES]).decode()}
            if at == 0:
                chunk.update(filename=filename, totalBytes=str(len(data)))
            chunks.append(chunk)
        self.call("UploadMedia", None, stream=chunks, on_message=reply.update)
        return reply["uploadId"]


# ---- the sequence as the editor sees it ------------------------------------------------------


def _rational(frames: float, fps: float) -> dict:
    return {"OTIO_SCHEMA": "RationalTime.1", "rate": fps, "value": float(frames)}


def _range(start: float, duration: float, fps: float) -> dict:
    return {
        "OTIO_SCHEMA": "TimeRange.1",
        "start_time": _rational(start, fps),
        "duration": _rational(duration, fps),
    }


def visible_movies(strips, *, channel_muted=lambda channel: False, within=None, depth=0):
    """(channel key, first frame, end frame, source first frame, path, name, speed) of every
    movie that plays: movie strips and Speed Control strips over them; muted strips and
    channels left out, meta strips opened (their content cropped to the meta's range, stacked
    on the meta's channel)."""
    out = []
    for strip in strips:
        if strip.mute or channel_muted(strip.channel):
            continue
        start, end = strip.frame_final_start, strip.frame_final_end
        if within is not None:
            start, end = max(start, within[0]), min(end, within[1])
        if end <= start:
            continue
        key = (within[2] if within else strip.channel) + strip.channel / 1000.0 * bool(within)
        if strip.type == "META" and depth < 8:
            inside = getattr(strip, "strips", None) or strip.sequences  # 4.4+ / older names
            out += visible_movies(inside, within=(start, end, key), depth=depth + 1)
        elif strip.type == "MOVIE":
            source_first = strip.frame_offset_start + (start - strip.frame_final_start)
            path = os.path.abspath(_abspath(strip.filepath))
            out.append((key, start, end, source_first, path, strip.name, 1.0))
        elif strip.type == "SPEED" and getattr(strip.input_1, "type", "") == "MOVIE":
            movie = strip.input_1
            speed, shown_first = speed_control(strip, movie)
            source_first = shown_first + (start - strip.frame_final_start) * speed
            path = os.path.abspath(_abspath(movie.filepath))
            out.append((key, start, end, source_first, path, strip.name, speed))
    return out


def speed_control(strip, movie) -> tuple:
    """(speed, input frame shown at the effect's first frame) of a Speed Control strip over
    a movie strip, as Blender plays it (measured on Blender 3.4): Multiply plays the input from
    its in point at the factor; Stretch fits the input from its in point to the end of its file
    into the effect's length; Length and Frame Number show one frame (keyframed values are read
    at their current value)."""
    mode = strip.speed_control
    first = movie.frame_offset_start
    if mode == "MULTIPLY":
        return float(strip.speed_factor), first
    if mode == "STRETCH":
        return (movie.frame_duration - first) / max(1, strip.frame_final_duration), first
    if mode == "LENGTH":
        return 0.0, first + strip.speed_length / 100.0 * movie.frame_duration
    return 0.0, first + strip.speed_frame_number


def _abspath(path: str) -> str:
    try:
        import bpy

        return bpy.path.abspath(path)
    except ImportError:  # outside Blender (tools, tests)
        return path


def sequence_otio(movies, *, origin: int, fps: float, name: str) -> dict:
    """An OTIO timeline (the JSON object): a video track per channel, bottom to top, frames
    counted from ``origin`` (the scene's first frame)."""
    tracks = []
    for key in sorted({m[0] for m in movies}):
        items, at = [], origin
        for _key, start, end, first, path, clip, speed in sorted(m for m in movies if m[0] == key):
            if start > at:
                items.append({"OTIO_SCHEMA": "Gap.1", "source_range": _range(0, start - at, fps)})
            warp = {
                "OTIO_SCHEMA": "LinearTimeWarp.1",
                "name": "speed",
                "effect_name": "LinearTimeWarp",
                "time_scalar": speed,
            }
            items.append(
                {
                    "OTIO_SCHEMA": "Clip.1",
                    "name": clip,
                    "source_range": _range(first, end - start, fps),
                    "media_reference": {"OTIO_SCHEMA": "ExternalReference.1", "target_url": path},
                    "effects": [] if speed == 1.0 else [warp],
                }
            )
            at = end
        tracks.append(
            {
                "OTIO_SCHEMA": "Track.1",
                "name": f"V{len(tracks) + 1}",
                "kind": "Video",
                "children": items,
            }
        )
    return {
        "OTIO_SCHEMA": "Timeline.1",
        "name": name,
        "metadata": {"v2m": {"exported_by": "v2m Blender add-on"}},
        "tracks": {"OTIO_SCHEMA": "Stack.1", "name": "tracks", "children": tracks},
    }


def write_wav(path: str, chunks: list, *, channels: int, rate: int) -> None:
    """16-bit PCM WAV from a stem's StemChunk messages (pcm_s16le, interleaved)."""
    data = b"".join(
        base64.b64decode(c["data"])
        for c in sorted(chunks, key=lambda c: int(c.get("offsetFrames", 0)))
    )
    with wave.open(path, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(data)


def score(server: str, token: str, timeline: dict, *, in_s, out_s, prompt, backend, progress):
    """Upload the timeline, score the selection; returns (result, {stem: [chunks]}); the
    result's ``curve`` is the streamed event curve as [start_s, rate_hz, values...]."""
    bridge = Bridge(server, token=token)
    try:
        upload_id = bridge.upload(json.dumps(timeline).encode(), f"{timeline['name']}.otio")
        chunks, result, curve = {}, {}, []

        def on_event(event):
            if "curve" in event:  # the selection's event curve, before any music
                part = event["curve"]
                if not curve:
                    curve.append(float(part.get("startS", 0.0)))
                    curve.append(float(part.get("rateHz", 0.0)))
                curve.extend(float(v) for v in part.get("values", []))
            elif "progress" in event:
                progress(
                    float(event["progress"].get("fraction", 0)), event["progress"].get("stage", "")
                )
            elif "stem" in event:
                chunks.setdefault(event["stem"]["name"], []).append(event["stem"])
            elif "result" in event:
                result.update(event["result"])

        request = {"media": {"uploadId": upload_id}, "inS": in_s, "outS": out_s, "prompt": prompt}
        if backend:
            request["backend"] = backend
        bridge.call("Score", request, on_message=on_event)
        result["curve"] = curve  # [start_s, rate_hz, values...]
        return result, chunks
    finally:
        bridge.close()


# ---- Blender ---------------------------------------------------------------------------------

try:
    import bpy
except ImportError:  # imported outside Blender: the functions above still work
    bpy = None


def _selection(scene) -> tuple:
    """(first, end) frames to score: the preview range, else the selected strips, else the
    scene."""
    if scene.use_preview_range:
        return scene.frame_preview_start, scene.frame_preview_end + 1
    chosen = [s for s in scene.sequence_editor.sequences if s.select]
    if chosen:
        return min(s.frame_final_start for s in chosen), max(s.frame_final_end for s in chosen)
    return scene.frame_start, scene.frame_end + 1


def score_selection(context, *, server, token, prompt, backend, stems_on_channels) -> str:
    """Score the selection and place the result; returns what was done, in words."""
    scene = context.scene
    fps = scene.render.fps / scene.render.fps_base
    first, end = _selection(scene)
    editor = scene.sequence_editor
    channels = getattr(editor, "channels", None)

    def channel_muted(index: int) -> bool:
        return bool(channels and index < len(channels) and channels[index].mute)

    movies = visible_movies(editor.sequences, channel_muted=channel_muted)
    if not movies:
        raise BridgeError("no movie strips play in the selection")
    timeline = sequence_otio(movies, origin=scene.frame_start, fps=fps, name=scene.name)
    wm = context.window_manager
    wm.progress_begin(0, 100)
    try:
        result, chunks = score(
            server,
            token,
            timeline,
            in_s=(first - scene.frame_start) / fps,
            out_s=(end - scene.frame_start) / fps,
            prompt=prompt,
            backend=backend,
            progress=lambda f, stage: wm.progress_update(int(100 * f)),
        )
    finally:
        wm.progress_end()
    folder = os.path.join(
        bpy.path.abspath("//v2m") if bpy.data.filepath else tempfile.gettempdir(),
        result.get("jobId", "job"),
    )
    os.makedirs(folder, exist_ok=True)
    names = [n for n in chunks if n != "mix"] if stems_on_channels else ["mix"]
    channel = max((s.channel for s in editor.sequences_all), default=0) + 1
    for offset, name in enumerate(names):
        parts = chunks.get(name, [])
        if not parts:
            raise BridgeError(f"the server sent no audio for {name!r}")
        path = os.path.join(folder, f"{name}.wav")
        write_wav(
            path, parts, channels=int(parts[0]["channels"]), rate=int(parts[0]["sampleRateHz"])
        )
        strip = editor.sequences.new_sound(f"v2m {name}", path, channel + offset, first)
        strip.show_waveform = True
    hits = result.get("plan", {}).get("hits", [])
    for hit in hits:
        frame = first + round(float(hit.get("achievedS", 0.0)) * fps)
        error = float(hit.get("errorFrames", 0.0))
        scene.timeline_markers.new(f"v2m {hit.get('kind', 'hit')} {error:+.1f}f", frame=frame)
    scene["v2m_curve"] = {
        "first_frame": first,
        "fps": fps,
        "channel": channel + len(names),
        "curve": result.get("curve", []),
    }
    return f"v2m: {len(names)} track(s) at frame {first}, {len(hits)} hit markers"


def draw_curve():
    """Draw the last scored selection's event curve in the sequencer's timeline, one channel
    high above the score's tracks (view coordinates: x in frames, y in channels)."""
    import gpu
    from gpu_extras.batch import batch_for_shader

    scene = bpy.context.scene
    stored = scene.get("v2m_curve") if scene else None
    if not stored or len(stored["curve"]) < 4:
        return
    start_s, rate_hz, *values = stored["curve"]
    top = max(max(values), 1e-6)
    low = min(values)
    points = [
        (
            stored["first_frame"] + (start_s + i / rate_hz) * stored["fps"],
            stored["channel"] + 0.1 + 0.8 * (v - low) / (top - low or 1.0),
        )
        for i, v in enumerate(values)
    ]
    try:
        shader = gpu.shader.from_builtin("UNIFORM_COLOR")
    except (ValueError, SystemError):  # Blender before 3.5 names it by dimension
        shader = gpu.shader.from_builtin("2D_UNIFORM_COLOR")
    batch = batch_for_shader(shader, "LINE_STRIP", {"pos": points})
    shader.bind()
    shader.uniform_float("color", (1.0, 0.6, 0.1, 1.0))
    batch.draw(shader)


if bpy is not None:

    class V2M_OT_score_selection(bpy.types.Operator):
        """Score the preview range (or the selected strips) with music from a v2m server"""

        bl_idname = "sequencer.v2m_score_selection"
        bl_label = "Score selection"
        bl_options = {"REGISTER", "UNDO"}

        server: bpy.props.StringProperty(name="Server", default=DEFAULT_SERVER)
        token: bpy.props.StringProperty(name="Token", default="", subtype="PASSWORD")
        prompt: bpy.props.StringProperty(name="Prompt", default="")
        backend: bpy.props.StringProperty(name="Engine", default="")
        stems_on_channels: bpy.props.BoolProperty(name="Stems on channels", default=False)

        @classmethod
        def poll(cls, context):
            return context.scene is not None and context.scene.sequence_editor is not None

        def execute(self, context):
            try:
                said = score_selection(
                    context,
                    server=self.server,
                    token=self.token,
                    prompt=self.prompt,
                    backend=self.backend,
                    stems_on_channels=self.stems_on_channels,
                )
            except (BridgeError, OSError) as exc:
                self.report({"ERROR"}, str(exc))
                return {"CANCELLED"}
            self.report({"INFO"}, said)
            return {"FINISHED"}

    class V2M_PT_score(bpy.types.Panel):
        bl_space_type = "SEQUENCE_EDITOR"
        bl_region_type = "UI"
        bl_category = "v2m"
        bl_label = "v2m"

        def draw(self, context):
            settings = context.scene.v2m
            layout = self.layout
            for name in ("server", "token", "prompt", "backend", "stems_on_channels"):
                layout.prop(settings, name)
            op = layout.operator(V2M_OT_score_selection.bl_idname)
            for name in ("server", "token", "prompt", "backend", "stems_on_channels"):
                setattr(op, name, getattr(settings, name))

    class V2M_Settings(bpy.types.PropertyGroup):
        server: bpy.props.StringProperty(name="Server", default=DEFAULT_SERVER)
        token: bpy.props.StringProperty(name="Token", default="", subtype="PASSWORD")
        prompt: bpy.props.StringProperty(name="Prompt", default="")
        backend: bpy.props.StringProperty(
            name="Engine", default="", description="composer, retime, flow; empty: composer"
        )
        stems_on_channels: bpy.props.BoolProperty(name="Stems on channels", default=False)

    CLASSES = (V2M_Settings, V2M_OT_score_selection, V2M_PT_score)


_DRAW_HANDLES = []


def register():
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    bpy.types.Scene.v2m = bpy.props.PointerProperty(type=V2M_Settings)
    space = bpy.types.SpaceSequenceEditor
    _DRAW_HANDLES.append(space.draw_handler_add(draw_curve, (), "WINDOW", "POST_VIEW"))


def unregister():
    while _DRAW_HANDLES:
        bpy.types.SpaceSequenceEditor.draw_handler_remove(_DRAW_HANDLES.pop(), "WINDOW")
    del bpy.types.Scene.v2m
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
