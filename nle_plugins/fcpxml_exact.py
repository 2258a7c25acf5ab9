"""FCPXML reading with exact frame rates.

``otio-fcpx-xml-adapter`` 1.0 turns every ``frameDuration`` into a whole rate (1001/30000 s →
29 fps), truncates each time to whole frames of that rate, and mixes the rates of clips and of
their project when it positions clips, so NTSC projects drift by 3 % and mixed-rate projects
land clips at wrong times. This reader keeps the adapter's structure (tracks from lanes, gaps,
compound clips, markers) but computes every time exactly — rational seconds from the file,
rounded once to frames of the project's own rate (``frameDuration`` of the project's sequence
format, e.g. exactly 30000/1001).
"""

from __future__ import annotations

from fractions import Fraction

import opentimelineio as otio
from otio_fcpx_xml_adapter.fcpx_xml import FcpxXml


def fcpxml_seconds(value: str | None) -> Fraction:
    """An FCPXML time (``"1001/30000s"``, ``"5s"``, ``"0s"``, absent) as exact seconds."""
    if not value:
        return Fraction(0)
    text = value.strip().removesuffix("s")
    num, _, den = text.partition("/")
    return Fraction(int(num), int(den or 1))


class ExactFcpxXml(FcpxXml):
    """``FcpxXml`` with every time on the project's exact frame grid."""

    _rate = Fraction(24)

    def __init__(self, xml_string):
        super().__init__(xml_string)
        _assets_name_their_media(self.fcpx_xml)

    def _from_project(self, project_element):
        sequence = project_element.find("./sequence")
        self._rate = self._exact_rate(sequence.get("format"))
        timeline = super()._from_project(project_element)
        tc_start = sequence.get("tcStart")
        if tc_start:
            timeline.global_start_time = self._time(tc_start)
        timeline.metadata.setdefault("v2m", {})["frame_rate"] = [
            self._rate.numerator,
            self._rate.denominator,
        ]
        return timeline

    def _exact_rate(self, format_id) -> Fraction:
        total, rate = self._format_frame_duration(format_id)
        return Fraction(int(rate), int(total))

    def _time(self, value) -> otio.opentime.RationalTime:
        frames = round(fcpxml_seconds(value) * self._rate)
        return otio.opentime.RationalTime(frames, float(self._rate))

    # The adapter's hooks, redefined on the project's exact grid -------------------------

    def _format_frame_rate(self, format_id):
        return float(self._rate)

    def _number_of_frames(self, time_value, format_id):
        return round(fcpxml_seconds(time_value) * self._rate)

    def _time_range(self, element, format_id):
        return otio.opentime.TimeRange(
            start_time=self._time(element.get("start", "0s")),
            duration=self._time(element.get("duration")),
        )

    def _reference_from_id(self, asset_id, default_format):
        reference = super()._reference_from_id(asset_id, default_format)
        if isinstance(reference, otio.schema.ExternalReference):
            asset = self._asset_by_id(asset_id)
            reference.available_range = otio.opentime.TimeRange(
                start_time=self._time(asset.get("start")),
                duration=self._time(asset.get("duration")),
            )
        return reference


def _assets_name_their_media(root) -> None:
    """FCPXML 1.9 and later name an asset's file in a ``<media-rep>`` child instead of the
    asset's ``src`` (which the adapter reads): copy the original media's ``src`` up (a proxy's
    when no original is named)."""
    for asset in root.iter("asset"):
        if asset.get("src"):
            continue
        reps = [r for r in asset.iter("media-rep") if r.get("src")]
        reps.sort(key=lambda r: r.get("kind") != "original-media")
        if reps:
            asset.set("src", reps[0].get("src"))


def read_fcpxml(text: str | bytes):
    """A Timeline, or a SerializableCollection of them (libraries, events), from FCPXML text
    or bytes."""
    return ExactFcpxXml(text).to_otio()
