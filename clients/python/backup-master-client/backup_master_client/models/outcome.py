from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="Outcome")


@_attrs_define
class Outcome:
    """How a command ended.

    Attributes:
        command (str): The command as configured.
        duration_ms (int):
        output (str): stdout and stderr interleaved, its last 64 KiB.
        timed_out (bool): It ran into its timeout and its process group was killed.
        exit_code (int | None | Unset): Exit code; absent when it was killed by a signal or did not start.
        signal (int | None | Unset): The signal that ended it, if one did.
        start_error (None | str | Unset): Why it could not be started (not found, not executable, ...).
        stopped (bool | Unset): The caller stopped it (a cancelled drill) and its process group was killed.
    """

    command: str
    duration_ms: int
    output: str
    timed_out: bool
    exit_code: int | None | Unset = UNSET
    signal: int | None | Unset = UNSET
    start_error: None | str | Unset = UNSET
    stopped: bool | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        command = self.command

        duration_ms = self.duration_ms

        output = self.output

        timed_out = self.timed_out

        exit_code: int | None | Unset
        if isinstance(self.exit_code, Unset):
            exit_code = UNSET
        else:
            exit_code = self.exit_code

        signal: int | None | Unset
        if isinstance(self.signal, Unset):
            signal = UNSET
        else:
            signal = self.signal

        start_error: None | str | Unset
        if isinstance(self.start_error, Unset):
            start_error = UNSET
        else:
            start_error = self.start_error

        stopped = self.stopped

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "command": command,
                "duration_ms": duration_ms,
                "output": output,
                "timed_out": timed_out,
            }
        )
        if exit_code is not UNSET:
            field_dict["exit_code"] = exit_code
        if signal is not UNSET:
            field_dict["signal"] = signal
        if start_error is not UNSET:
            field_dict["start_error"] = start_error
        if stopped is not UNSET:
            field_dict["stopped"] = stopped

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        command = d.pop("command")

        duration_ms = d.pop("duration_ms")

        output = d.pop("output")

        timed_out = d.pop("timed_out")

        def _parse_exit_code(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        exit_code = _parse_exit_code(d.pop("exit_code", UNSET))

        def _parse_signal(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        signal = _parse_signal(d.pop("signal", UNSET))

        def _parse_start_error(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        start_error = _parse_start_error(d.pop("start_error", UNSET))

        stopped = d.pop("stopped", UNSET)

        outcome = cls(
            command=command,
            duration_ms=duration_ms,
            output=output,
            timed_out=timed_out,
            exit_code=exit_code,
            signal=signal,
            start_error=start_error,
            stopped=stopped,
        )

        outcome.additional_properties = d
        return outcome

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
