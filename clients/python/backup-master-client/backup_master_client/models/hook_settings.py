from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="HookSettings")


@_attrs_define
class HookSettings:
    """The `[hooks]` table: commands run after each backup.

    Attributes:
        on_failure (str): Command run after a failed, cancelled or interrupted backup; empty: nothing runs. Example:
            /opt/scripts/page-admin.sh.
        on_success (str): Command run after a successful backup; empty: nothing runs. Split like a shell would, no
            shell. Example: /opt/scripts/to-tape.sh --all.
        timeout_seconds (int): Seconds after which the command's whole process group is killed, 1 to 604800 (a week).
            Example: 3600.
        work_folder (str): Working folder of both commands (must exist); empty: the home of the `maestro-hub`
            component (the state dir when there is none on this machine).
        env (list[str] | Unset): Names of variables of the master's environment the commands also get. They get no other
            variable of it: only `PATH`, `HOME`, `LANG`, the `BACKUP_*` variables the master sets,
            and these. Each a plain name (`[A-Za-z_][A-Za-z0-9_]*`), not `BACKUP_*`. Optional:
            absent means none. Example: ['TAPE_DEVICE', 'TZ'].
    """

    on_failure: str
    on_success: str
    timeout_seconds: int
    work_folder: str
    env: list[str] | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        on_failure = self.on_failure

        on_success = self.on_success

        timeout_seconds = self.timeout_seconds

        work_folder = self.work_folder

        env: list[str] | Unset = UNSET
        if not isinstance(self.env, Unset):
            env = self.env

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "on_failure": on_failure,
                "on_success": on_success,
                "timeout_seconds": timeout_seconds,
                "work_folder": work_folder,
            }
        )
        if env is not UNSET:
            field_dict["env"] = env

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        on_failure = d.pop("on_failure")

        on_success = d.pop("on_success")

        timeout_seconds = d.pop("timeout_seconds")

        work_folder = d.pop("work_folder")

        env = cast(list[str], d.pop("env", UNSET))

        hook_settings = cls(
            on_failure=on_failure,
            on_success=on_success,
            timeout_seconds=timeout_seconds,
            work_folder=work_folder,
            env=env,
        )

        return hook_settings
