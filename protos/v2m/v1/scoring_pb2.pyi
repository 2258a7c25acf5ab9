from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MediaRef(_message.Message):
    __slots__ = ("path", "upload_id")
    PATH_FIELD_NUMBER: _ClassVar[int]
    UPLOAD_ID_FIELD_NUMBER: _ClassVar[int]
    path: str
    upload_id: str
    def __init__(self, path: _Optional[str] = ..., upload_id: _Optional[str] = ...) -> None: ...

class AnalyzeRequest(_message.Message):
    __slots__ = ("media", "encoder", "curve_rate_hz")
    MEDIA_FIELD_NUMBER: _ClassVar[int]
    ENCODER_FIELD_NUMBER: _ClassVar[int]
    CURVE_RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    media: MediaRef
    encoder: str
    curve_rate_hz: float
    def __init__(self, media: _Optional[_Union[MediaRef, _Mapping]] = ..., encoder: _Optional[str] = ..., curve_rate_hz: _Optional[float] = ...) -> None: ...

class Progress(_message.Message):
    __slots__ = ("stage", "fraction")
    STAGE_FIELD_NUMBER: _ClassVar[int]
    FRACTION_FIELD_NUMBER: _ClassVar[int]
    stage: str
    fraction: float
    def __init__(self, stage: _Optional[str] = ..., fraction: _Optional[float] = ...) -> None: ...

class CurveChunk(_message.Message):
    __slots__ = ("times_s", "values")
    TIMES_S_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    times_s: _containers.RepeatedScalarFieldContainer[float]
    values: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, times_s: _Optional[_Iterable[float]] = ..., values: _Optional[_Iterable[float]] = ...) -> None: ...

class UniformCurve(_message.Message):
    __slots__ = ("start_s", "rate_hz", "values", "source")
    START_S_FIELD_NUMBER: _ClassVar[int]
    RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    start_s: float
    rate_hz: float
    values: _containers.RepeatedScalarFieldContainer[float]
    source: str
    def __init__(self, start_s: _Optional[float] = ..., rate_hz: _Optional[float] = ..., values: _Optional[_Iterable[float]] = ..., source: _Optional[str] = ...) -> None: ...

class Cut(_message.Message):
    __slots__ = ("time_s", "confidence")
    TIME_S_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    time_s: float
    confidence: float
    def __init__(self, time_s: _Optional[float] = ..., confidence: _Optional[float] = ...) -> None: ...

class MediaSummary(_message.Message):
    __slots__ = ("duration_s", "frame_rate_hz", "width", "height", "has_audio", "variable_frame_rate", "rotation_deg")
    DURATION_S_FIELD_NUMBER: _ClassVar[int]
    FRAME_RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    HAS_AUDIO_FIELD_NUMBER: _ClassVar[int]
    VARIABLE_FRAME_RATE_FIELD_NUMBER: _ClassVar[int]
    ROTATION_DEG_FIELD_NUMBER: _ClassVar[int]
    duration_s: float
    frame_rate_hz: float
    width: int
    height: int
    has_audio: bool
    variable_frame_rate: bool
    rotation_deg: int
    def __init__(self, duration_s: _Optional[float] = ..., frame_rate_hz: _Optional[float] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., has_audio: _Optional[bool] = ..., variable_frame_rate: _Optional[bool] = ..., rotation_deg: _Optional[int] = ...) -> None: ...

class AnalysisSummary(_message.Message):
    __slots__ = ("media", "encoder", "cuts", "raw", "smoothed", "peaks_s")
    MEDIA_FIELD_NUMBER: _ClassVar[int]
    ENCODER_FIELD_NUMBER: _ClassVar[int]
    CUTS_FIELD_NUMBER: _ClassVar[int]
    RAW_FIELD_NUMBER: _ClassVar[int]
    SMOOTHED_FIELD_NUMBER: _ClassVar[int]
    PEAKS_S_FIELD_NUMBER: _ClassVar[int]
    media: MediaSummary
    encoder: str
    cuts: _containers.RepeatedCompositeFieldContainer[Cut]
    raw: CurveChunk
    smoothed: UniformCurve
    peaks_s: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, media: _Optional[_Union[MediaSummary, _Mapping]] = ..., encoder: _Optional[str] = ..., cuts: _Optional[_Iterable[_Union[Cut, _Mapping]]] = ..., raw: _Optional[_Union[CurveChunk, _Mapping]] = ..., smoothed: _Optional[_Union[UniformCurve, _Mapping]] = ..., peaks_s: _Optional[_Iterable[float]] = ...) -> None: ...

class AnalyzeEvent(_message.Message):
    __slots__ = ("progress", "curve", "cut", "summary")
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    CURVE_FIELD_NUMBER: _ClassVar[int]
    CUT_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    progress: Progress
    curve: CurveChunk
    cut: Cut
    summary: AnalysisSummary
    def __init__(self, progress: _Optional[_Union[Progress, _Mapping]] = ..., curve: _Optional[_Union[CurveChunk, _Mapping]] = ..., cut: _Optional[_Union[Cut, _Mapping]] = ..., summary: _Optional[_Union[AnalysisSummary, _Mapping]] = ...) -> None: ...

class ScoreRequest(_message.Message):
    __slots__ = ("media", "prompt", "style", "in_s", "out_s", "seed", "backend", "markers_s", "bpm", "key", "meter", "stems", "audio_format", "duck_dialogue", "want_plot", "backend_options", "want_preview", "track_per_stem", "music")
    class BackendOptionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    MEDIA_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    STYLE_FIELD_NUMBER: _ClassVar[int]
    IN_S_FIELD_NUMBER: _ClassVar[int]
    OUT_S_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    MARKERS_S_FIELD_NUMBER: _ClassVar[int]
    BPM_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    METER_FIELD_NUMBER: _ClassVar[int]
    STEMS_FIELD_NUMBER: _ClassVar[int]
    AUDIO_FORMAT_FIELD_NUMBER: _ClassVar[int]
    DUCK_DIALOGUE_FIELD_NUMBER: _ClassVar[int]
    WANT_PLOT_FIELD_NUMBER: _ClassVar[int]
    BACKEND_OPTIONS_FIELD_NUMBER: _ClassVar[int]
    WANT_PREVIEW_FIELD_NUMBER: _ClassVar[int]
    TRACK_PER_STEM_FIELD_NUMBER: _ClassVar[int]
    MUSIC_FIELD_NUMBER: _ClassVar[int]
    media: MediaRef
    prompt: str
    style: str
    in_s: float
    out_s: float
    seed: int
    backend: str
    markers_s: _containers.RepeatedScalarFieldContainer[float]
    bpm: float
    key: str
    meter: int
    stems: _containers.RepeatedScalarFieldContainer[str]
    audio_format: str
    duck_dialogue: bool
    want_plot: bool
    backend_options: _containers.ScalarMap[str, str]
    want_preview: bool
    track_per_stem: bool
    music: str
    def __init__(self, media: _Optional[_Union[MediaRef, _Mapping]] = ..., prompt: _Optional[str] = ..., style: _Optional[str] = ..., in_s: _Optional[float] = ..., out_s: _Optional[float] = ..., seed: _Optional[int] = ..., backend: _Optional[str] = ..., markers_s: _Optional[_Iterable[float]] = ..., bpm: _Optional[float] = ..., key: _Optional[str] = ..., meter: _Optional[int] = ..., stems: _Optional[_Iterable[str]] = ..., audio_format: _Optional[str] = ..., duck_dialogue: _Optional[bool] = ..., want_plot: _Optional[bool] = ..., backend_options: _Optional[_Mapping[str, str]] = ..., want_preview: _Optional[bool] = ..., track_per_stem: _Optional[bool] = ..., music: _Optional[str] = ...) -> None: ...

class JobAccepted(_message.Message):
    __slots__ = ("job_id", "joined")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    JOINED_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    joined: bool
    def __init__(self, job_id: _Optional[str] = ..., joined: _Optional[bool] = ...) -> None: ...

class HitPlacement(_message.Message):
    __slots__ = ("kind", "planned_s", "achieved_s", "error_ms", "error_frames", "beat", "on_downbeat", "strength")
    KIND_FIELD_NUMBER: _ClassVar[int]
    PLANNED_S_FIELD_NUMBER: _ClassVar[int]
    ACHIEVED_S_FIELD_NUMBER: _ClassVar[int]
    ERROR_MS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FRAMES_FIELD_NUMBER: _ClassVar[int]
    BEAT_FIELD_NUMBER: _ClassVar[int]
    ON_DOWNBEAT_FIELD_NUMBER: _ClassVar[int]
    STRENGTH_FIELD_NUMBER: _ClassVar[int]
    kind: str
    planned_s: float
    achieved_s: float
    error_ms: float
    error_frames: float
    beat: float
    on_downbeat: bool
    strength: float
    def __init__(self, kind: _Optional[str] = ..., planned_s: _Optional[float] = ..., achieved_s: _Optional[float] = ..., error_ms: _Optional[float] = ..., error_frames: _Optional[float] = ..., beat: _Optional[float] = ..., on_downbeat: _Optional[bool] = ..., strength: _Optional[float] = ...) -> None: ...

class HitPlan(_message.Message):
    __slots__ = ("hits", "beats_s", "meter", "bpm_min", "bpm_max", "style", "key", "prompt", "prompt_source", "frame_rate_hz", "duration_s")
    HITS_FIELD_NUMBER: _ClassVar[int]
    BEATS_S_FIELD_NUMBER: _ClassVar[int]
    METER_FIELD_NUMBER: _ClassVar[int]
    BPM_MIN_FIELD_NUMBER: _ClassVar[int]
    BPM_MAX_FIELD_NUMBER: _ClassVar[int]
    STYLE_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    PROMPT_SOURCE_FIELD_NUMBER: _ClassVar[int]
    FRAME_RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    DURATION_S_FIELD_NUMBER: _ClassVar[int]
    hits: _containers.RepeatedCompositeFieldContainer[HitPlacement]
    beats_s: _containers.RepeatedScalarFieldContainer[float]
    meter: int
    bpm_min: float
    bpm_max: float
    style: str
    key: str
    prompt: str
    prompt_source: str
    frame_rate_hz: float
    duration_s: float
    def __init__(self, hits: _Optional[_Iterable[_Union[HitPlacement, _Mapping]]] = ..., beats_s: _Optional[_Iterable[float]] = ..., meter: _Optional[int] = ..., bpm_min: _Optional[float] = ..., bpm_max: _Optional[float] = ..., style: _Optional[str] = ..., key: _Optional[str] = ..., prompt: _Optional[str] = ..., prompt_source: _Optional[str] = ..., frame_rate_hz: _Optional[float] = ..., duration_s: _Optional[float] = ...) -> None: ...

class StemChunk(_message.Message):
    __slots__ = ("name", "sample_rate_hz", "channels", "offset_frames", "format", "data", "last")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FRAMES_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    LAST_FIELD_NUMBER: _ClassVar[int]
    name: str
    sample_rate_hz: int
    channels: int
    offset_frames: int
    format: str
    data: bytes
    last: bool
    def __init__(self, name: _Optional[str] = ..., sample_rate_hz: _Optional[int] = ..., channels: _Optional[int] = ..., offset_frames: _Optional[int] = ..., format: _Optional[str] = ..., data: _Optional[bytes] = ..., last: _Optional[bool] = ...) -> None: ...

class Loudness(_message.Message):
    __slots__ = ("integrated_lufs", "true_peak_dbtp", "target_lufs")
    INTEGRATED_LUFS_FIELD_NUMBER: _ClassVar[int]
    TRUE_PEAK_DBTP_FIELD_NUMBER: _ClassVar[int]
    TARGET_LUFS_FIELD_NUMBER: _ClassVar[int]
    integrated_lufs: float
    true_peak_dbtp: float
    target_lufs: float
    def __init__(self, integrated_lufs: _Optional[float] = ..., true_peak_dbtp: _Optional[float] = ..., target_lufs: _Optional[float] = ...) -> None: ...

class ScoreResult(_message.Message):
    __slots__ = ("job_id", "plan", "loudness", "midi", "duration_s", "metadata_json", "artifacts", "files")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    LOUDNESS_FIELD_NUMBER: _ClassVar[int]
    MIDI_FIELD_NUMBER: _ClassVar[int]
    DURATION_S_FIELD_NUMBER: _ClassVar[int]
    METADATA_JSON_FIELD_NUMBER: _ClassVar[int]
    ARTIFACTS_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    plan: HitPlan
    loudness: Loudness
    midi: bytes
    duration_s: float
    metadata_json: str
    artifacts: _containers.RepeatedCompositeFieldContainer[Artifact]
    files: _containers.RepeatedCompositeFieldContainer[FileBlob]
    def __init__(self, job_id: _Optional[str] = ..., plan: _Optional[_Union[HitPlan, _Mapping]] = ..., loudness: _Optional[_Union[Loudness, _Mapping]] = ..., midi: _Optional[bytes] = ..., duration_s: _Optional[float] = ..., metadata_json: _Optional[str] = ..., artifacts: _Optional[_Iterable[_Union[Artifact, _Mapping]]] = ..., files: _Optional[_Iterable[_Union[FileBlob, _Mapping]]] = ...) -> None: ...

class FileBlob(_message.Message):
    __slots__ = ("name", "data")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    name: str
    data: bytes
    def __init__(self, name: _Optional[str] = ..., data: _Optional[bytes] = ...) -> None: ...

class Artifact(_message.Message):
    __slots__ = ("name", "path")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    name: str
    path: str
    def __init__(self, name: _Optional[str] = ..., path: _Optional[str] = ...) -> None: ...

class ScoreEvent(_message.Message):
    __slots__ = ("accepted", "progress", "curve", "plan", "stem", "result", "planned")
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    CURVE_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    STEM_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    PLANNED_FIELD_NUMBER: _ClassVar[int]
    accepted: JobAccepted
    progress: Progress
    curve: UniformCurve
    plan: HitPlan
    stem: StemChunk
    result: ScoreResult
    planned: HitPlan
    def __init__(self, accepted: _Optional[_Union[JobAccepted, _Mapping]] = ..., progress: _Optional[_Union[Progress, _Mapping]] = ..., curve: _Optional[_Union[UniformCurve, _Mapping]] = ..., plan: _Optional[_Union[HitPlan, _Mapping]] = ..., stem: _Optional[_Union[StemChunk, _Mapping]] = ..., result: _Optional[_Union[ScoreResult, _Mapping]] = ..., planned: _Optional[_Union[HitPlan, _Mapping]] = ...) -> None: ...

class GetServerInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ServerInfo(_message.Message):
    __slots__ = ("version", "media_roots", "max_message_bytes", "max_media_duration_s", "max_frame_side_px", "auth_required", "executor", "nodes", "workers")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    MEDIA_ROOTS_FIELD_NUMBER: _ClassVar[int]
    MAX_MESSAGE_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_MEDIA_DURATION_S_FIELD_NUMBER: _ClassVar[int]
    MAX_FRAME_SIDE_PX_FIELD_NUMBER: _ClassVar[int]
    AUTH_REQUIRED_FIELD_NUMBER: _ClassVar[int]
    EXECUTOR_FIELD_NUMBER: _ClassVar[int]
    NODES_FIELD_NUMBER: _ClassVar[int]
    WORKERS_FIELD_NUMBER: _ClassVar[int]
    version: str
    media_roots: _containers.RepeatedScalarFieldContainer[str]
    max_message_bytes: int
    max_media_duration_s: float
    max_frame_side_px: int
    auth_required: bool
    executor: str
    nodes: _containers.RepeatedCompositeFieldContainer[NodeInfo]
    workers: int
    def __init__(self, version: _Optional[str] = ..., media_roots: _Optional[_Iterable[str]] = ..., max_message_bytes: _Optional[int] = ..., max_media_duration_s: _Optional[float] = ..., max_frame_side_px: _Optional[int] = ..., auth_required: _Optional[bool] = ..., executor: _Optional[str] = ..., nodes: _Optional[_Iterable[_Union[NodeInfo, _Mapping]]] = ..., workers: _Optional[int] = ...) -> None: ...

class NodeInfo(_message.Message):
    __slots__ = ("address", "cpus", "gpus", "alive")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    CPUS_FIELD_NUMBER: _ClassVar[int]
    GPUS_FIELD_NUMBER: _ClassVar[int]
    ALIVE_FIELD_NUMBER: _ClassVar[int]
    address: str
    cpus: float
    gpus: float
    alive: bool
    def __init__(self, address: _Optional[str] = ..., cpus: _Optional[float] = ..., gpus: _Optional[float] = ..., alive: _Optional[bool] = ...) -> None: ...

class ListBackendsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class BackendInfo(_message.Message):
    __slots__ = ("name", "summary", "device", "available", "reason", "options")
    class OptionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    name: str
    summary: str
    device: str
    available: bool
    reason: str
    options: _containers.ScalarMap[str, str]
    def __init__(self, name: _Optional[str] = ..., summary: _Optional[str] = ..., device: _Optional[str] = ..., available: _Optional[bool] = ..., reason: _Optional[str] = ..., options: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ListBackendsResponse(_message.Message):
    __slots__ = ("backends",)
    BACKENDS_FIELD_NUMBER: _ClassVar[int]
    backends: _containers.RepeatedCompositeFieldContainer[BackendInfo]
    def __init__(self, backends: _Optional[_Iterable[_Union[BackendInfo, _Mapping]]] = ...) -> None: ...

class GetJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class CancelJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class Job(_message.Message):
    __slots__ = ("job_id", "state", "progress", "error", "artifacts")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    ARTIFACTS_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    state: str
    progress: Progress
    error: str
    artifacts: _containers.RepeatedCompositeFieldContainer[Artifact]
    def __init__(self, job_id: _Optional[str] = ..., state: _Optional[str] = ..., progress: _Optional[_Union[Progress, _Mapping]] = ..., error: _Optional[str] = ..., artifacts: _Optional[_Iterable[_Union[Artifact, _Mapping]]] = ...) -> None: ...

class UploadChunk(_message.Message):
    __slots__ = ("filename", "total_bytes", "sha256", "data")
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    filename: str
    total_bytes: int
    sha256: str
    data: bytes
    def __init__(self, filename: _Optional[str] = ..., total_bytes: _Optional[int] = ..., sha256: _Optional[str] = ..., data: _Optional[bytes] = ...) -> None: ...

class UploadResult(_message.Message):
    __slots__ = ("upload_id", "bytes", "already_present")
    UPLOAD_ID_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    ALREADY_PRESENT_FIELD_NUMBER: _ClassVar[int]
    upload_id: str
    bytes: int
    already_present: bool
    def __init__(self, upload_id: _Optional[str] = ..., bytes: _Optional[int] = ..., already_present: _Optional[bool] = ...) -> None: ...
