from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.component_state import ComponentState
from ..models.folder_origin import FolderOrigin
from ..models.layout import Layout
from ..models.profile import Profile
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.copy_op import CopyOp
    from ..models.edit_op import EditOp
    from ..models.folder_time import FolderTime
    from ..models.owned_entry import OwnedEntry
    from ..models.safety_copy import SafetyCopy
    from ..models.skip_op import SkipOp
    from ..models.undo_plan import UndoPlan


T = TypeVar("T", bound="ComponentRestore")


@_attrs_define
class ComponentRestore:
    """The plan of one component and how far it got.

    Attributes:
        bytes_ (int): Bytes copied out of the backup (read and written, or cloned).
        copy (list[CopyOp]): What is copied out of the backup folder (real copies: modes, mtimes and symbolic links
            kept; never a hard link into the backup).
        create_dirs (list[str]): Folders of the home created because they were missing (e.g. `data/`).
        edit (list[EditOp]): Lines appended after the copy.
        errors (list[str]):
        files (int): Regular files copied out of the backup (read and written, or cloned).
        home (str):  Example: /srv/lui.
        layout (Layout): How the backup folder holds the component's data.
        name (str):  Example: lui.
        origin (FolderOrigin): Where the folder a component is restored from came from.
        profile (Profile): What kind of component this is; decides the default items.
        remove (list[str]): Paths of the home moved to the safety folder (removed from the home) before the copy.
        safety_folder (str): `<home>/.pre-restore-<restore id>`: the items about to be replaced are moved here first.
            Example: /srv/lui/.pre-restore-R20261126T101500Z.
        skip (list[SkipOp]): Entries of the backup folder not restored, with the reason.
        source_folder (str): The backup folder restored from. Example: /srv/lui/backup.
        status (ComponentState): Where a component of a restore stands.
        agent (None | str | Unset): For a remote component: the URL of the agent that plans and applies this part of the
            restore on its own machine (`home` and the paths are paths there). Absent for local ones. Example:
            https://tracker.example:7444.
        bytes_cloned (int | Unset): Of `bytes`, those cloned; absent when no file was.
        copy_started (list[str] | Unset): Targets this restore began to copy into, recorded before the copy (each was
            free then).
            A rollback removes only these from the home.
        created_dirs (list[str] | Unset): The folders of `create_dirs` this restore made (each created exclusively),
            recorded
            before anything was copied into them. A rollback removes only these, only when empty.
        download (None | str | Unset): A remote component restored from `from_target`: the ID of its agent's download of
            the
            set (`source_folder` is that download's folder on the agent's machine). Example: C20261201T101500Z.
        files_cloned (int | Unset): Of `files`, those cloned (`FICLONE`: the home's copy shares extents with the backup
            where both are on one file system that can; still an independent copy). Absent when
            none was.
        finished_at (datetime.datetime | None | Unset):
        folder_times (list[FolderTime] | Unset): Modification times of the home folders the restore changes, taken
            before the first
            change; a rollback sets them back.
        moved_aside (list[OwnedEntry] | Unset): Each path of `remove` as it was right before it was moved into the
            safety folder,
            recorded before the move. A rollback puts back only an entry of the safety folder that
            is one of these.
        safety_copy (None | SafetyCopy | Unset):
        safety_created (None | OwnedEntry | Unset):
        slot (None | str | Unset): The history slot (`backup`, `backup1`, ...) when `origin` is `slot`.
        started_at (datetime.datetime | None | Unset):
        undo (None | UndoPlan | Unset):
    """

    bytes_: int
    copy: list[CopyOp]
    create_dirs: list[str]
    edit: list[EditOp]
    errors: list[str]
    files: int
    home: str
    layout: Layout
    name: str
    origin: FolderOrigin
    profile: Profile
    remove: list[str]
    safety_folder: str
    skip: list[SkipOp]
    source_folder: str
    status: ComponentState
    agent: None | str | Unset = UNSET
    bytes_cloned: int | Unset = UNSET
    copy_started: list[str] | Unset = UNSET
    created_dirs: list[str] | Unset = UNSET
    download: None | str | Unset = UNSET
    files_cloned: int | Unset = UNSET
    finished_at: datetime.datetime | None | Unset = UNSET
    folder_times: list[FolderTime] | Unset = UNSET
    moved_aside: list[OwnedEntry] | Unset = UNSET
    safety_copy: None | SafetyCopy | Unset = UNSET
    safety_created: None | OwnedEntry | Unset = UNSET
    slot: None | str | Unset = UNSET
    started_at: datetime.datetime | None | Unset = UNSET
    undo: None | UndoPlan | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.owned_entry import OwnedEntry  # noqa: PLC0415
        from ..models.safety_copy import SafetyCopy  # noqa: PLC0415
        from ..models.undo_plan import UndoPlan  # noqa: PLC0415

        bytes_ = self.bytes_

        copy = []
        for copy_item_data in self.copy:
            copy_item = copy_item_data.to_dict()
            copy.append(copy_item)

        create_dirs = self.create_dirs

        edit = []
        for edit_item_data in self.edit:
            edit_item = edit_item_data.to_dict()
            edit.append(edit_item)

        errors = self.errors

        files = self.files

        home = self.home

        layout = self.layout.value

        name = self.name

        origin = self.origin.value

        profile = self.profile.value

        remove = self.remove

        safety_folder = self.safety_folder

        skip = []
        for skip_item_data in self.skip:
            skip_item = skip_item_data.to_dict()
            skip.append(skip_item)

        source_folder = self.source_folder

        status = self.status.value

        agent: None | str | Unset
        if isinstance(self.agent, Unset):
            agent = UNSET
        else:
            agent = self.agent

        bytes_cloned = self.bytes_cloned

        copy_started: list[str] | Unset = UNSET
        if not isinstance(self.copy_started, Unset):
            copy_started = self.copy_started

        created_dirs: list[str] | Unset = UNSET
        if not isinstance(self.created_dirs, Unset):
            created_dirs = self.created_dirs

        download: None | str | Unset
        if isinstance(self.download, Unset):
            download = UNSET
        else:
            download = self.download

        files_cloned = self.files_cloned

        finished_at: None | str | Unset
        if isinstance(self.finished_at, Unset):
            finished_at = UNSET
        elif isinstance(self.finished_at, datetime.datetime):
            finished_at = self.finished_at.isoformat()
        else:
            finished_at = self.finished_at

        folder_times: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.folder_times, Unset):
            folder_times = []
            for folder_times_item_data in self.folder_times:
                folder_times_item = folder_times_item_data.to_dict()
                folder_times.append(folder_times_item)

        moved_aside: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.moved_aside, Unset):
            moved_aside = []
            for moved_aside_item_data in self.moved_aside:
                moved_aside_item = moved_aside_item_data.to_dict()
                moved_aside.append(moved_aside_item)

        safety_copy: dict[str, Any] | None | Unset
        if isinstance(self.safety_copy, Unset):
            safety_copy = UNSET
        elif isinstance(self.safety_copy, SafetyCopy):
            safety_copy = self.safety_copy.to_dict()
        else:
            safety_copy = self.safety_copy

        safety_created: dict[str, Any] | None | Unset
        if isinstance(self.safety_created, Unset):
            safety_created = UNSET
        elif isinstance(self.safety_created, OwnedEntry):
            safety_created = self.safety_created.to_dict()
        else:
            safety_created = self.safety_created

        slot: None | str | Unset
        if isinstance(self.slot, Unset):
            slot = UNSET
        else:
            slot = self.slot

        started_at: None | str | Unset
        if isinstance(self.started_at, Unset):
            started_at = UNSET
        elif isinstance(self.started_at, datetime.datetime):
            started_at = self.started_at.isoformat()
        else:
            started_at = self.started_at

        undo: dict[str, Any] | None | Unset
        if isinstance(self.undo, Unset):
            undo = UNSET
        elif isinstance(self.undo, UndoPlan):
            undo = self.undo.to_dict()
        else:
            undo = self.undo

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "bytes": bytes_,
                "copy": copy,
                "create_dirs": create_dirs,
                "edit": edit,
                "errors": errors,
                "files": files,
                "home": home,
                "layout": layout,
                "name": name,
                "origin": origin,
                "profile": profile,
                "remove": remove,
                "safety_folder": safety_folder,
                "skip": skip,
                "source_folder": source_folder,
                "status": status,
            }
        )
        if agent is not UNSET:
            field_dict["agent"] = agent
        if bytes_cloned is not UNSET:
            field_dict["bytes_cloned"] = bytes_cloned
        if copy_started is not UNSET:
            field_dict["copy_started"] = copy_started
        if created_dirs is not UNSET:
            field_dict["created_dirs"] = created_dirs
        if download is not UNSET:
            field_dict["download"] = download
        if files_cloned is not UNSET:
            field_dict["files_cloned"] = files_cloned
        if finished_at is not UNSET:
            field_dict["finished_at"] = finished_at
        if folder_times is not UNSET:
            field_dict["folder_times"] = folder_times
        if moved_aside is not UNSET:
            field_dict["moved_aside"] = moved_aside
        if safety_copy is not UNSET:
            field_dict["safety_copy"] = safety_copy
        if safety_created is not UNSET:
            field_dict["safety_created"] = safety_created
        if slot is not UNSET:
            field_dict["slot"] = slot
        if started_at is not UNSET:
            field_dict["started_at"] = started_at
        if undo is not UNSET:
            field_dict["undo"] = undo

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.copy_op import CopyOp  # noqa: PLC0415
        from ..models.edit_op import EditOp  # noqa: PLC0415
        from ..models.folder_time import FolderTime  # noqa: PLC0415
        from ..models.owned_entry import OwnedEntry  # noqa: PLC0415
        from ..models.safety_copy import SafetyCopy  # noqa: PLC0415
        from ..models.skip_op import SkipOp  # noqa: PLC0415
        from ..models.undo_plan import UndoPlan  # noqa: PLC0415

        d = dict(src_dict)
        bytes_ = d.pop("bytes")

        copy = []
        _copy = d.pop("copy")
        for copy_item_data in _copy:
            copy_item = CopyOp.from_dict(copy_item_data)

            copy.append(copy_item)

        create_dirs = cast(list[str], d.pop("create_dirs"))

        edit = []
        _edit = d.pop("edit")
        for edit_item_data in _edit:
            edit_item = EditOp.from_dict(edit_item_data)

            edit.append(edit_item)

        errors = cast(list[str], d.pop("errors"))

        files = d.pop("files")

        home = d.pop("home")

        layout = Layout(d.pop("layout"))

        name = d.pop("name")

        origin = FolderOrigin(d.pop("origin"))

        profile = Profile(d.pop("profile"))

        remove = cast(list[str], d.pop("remove"))

        safety_folder = d.pop("safety_folder")

        skip = []
        _skip = d.pop("skip")
        for skip_item_data in _skip:
            skip_item = SkipOp.from_dict(skip_item_data)

            skip.append(skip_item)

        source_folder = d.pop("source_folder")

        status = ComponentState(d.pop("status"))

        def _parse_agent(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        agent = _parse_agent(d.pop("agent", UNSET))

        bytes_cloned = d.pop("bytes_cloned", UNSET)

        copy_started = cast(list[str], d.pop("copy_started", UNSET))

        created_dirs = cast(list[str], d.pop("created_dirs", UNSET))

        def _parse_download(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        download = _parse_download(d.pop("download", UNSET))

        files_cloned = d.pop("files_cloned", UNSET)

        def _parse_finished_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                finished_at_type_0 = datetime.datetime.fromisoformat(data)

                return finished_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        finished_at = _parse_finished_at(d.pop("finished_at", UNSET))

        _folder_times = d.pop("folder_times", UNSET)
        folder_times: list[FolderTime] | Unset = UNSET
        if _folder_times is not UNSET:
            folder_times = []
            for folder_times_item_data in _folder_times:
                folder_times_item = FolderTime.from_dict(folder_times_item_data)

                folder_times.append(folder_times_item)

        _moved_aside = d.pop("moved_aside", UNSET)
        moved_aside: list[OwnedEntry] | Unset = UNSET
        if _moved_aside is not UNSET:
            moved_aside = []
            for moved_aside_item_data in _moved_aside:
                moved_aside_item = OwnedEntry.from_dict(moved_aside_item_data)

                moved_aside.append(moved_aside_item)

        def _parse_safety_copy(data: object) -> None | SafetyCopy | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                safety_copy_type_1 = SafetyCopy.from_dict(data)

                return safety_copy_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | SafetyCopy | Unset, data)

        safety_copy = _parse_safety_copy(d.pop("safety_copy", UNSET))

        def _parse_safety_created(data: object) -> None | OwnedEntry | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                safety_created_type_1 = OwnedEntry.from_dict(data)

                return safety_created_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | OwnedEntry | Unset, data)

        safety_created = _parse_safety_created(d.pop("safety_created", UNSET))

        def _parse_slot(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        slot = _parse_slot(d.pop("slot", UNSET))

        def _parse_started_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                started_at_type_0 = datetime.datetime.fromisoformat(data)

                return started_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        started_at = _parse_started_at(d.pop("started_at", UNSET))

        def _parse_undo(data: object) -> None | UndoPlan | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                undo_type_1 = UndoPlan.from_dict(data)

                return undo_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | UndoPlan | Unset, data)

        undo = _parse_undo(d.pop("undo", UNSET))

        component_restore = cls(
            bytes_=bytes_,
            copy=copy,
            create_dirs=create_dirs,
            edit=edit,
            errors=errors,
            files=files,
            home=home,
            layout=layout,
            name=name,
            origin=origin,
            profile=profile,
            remove=remove,
            safety_folder=safety_folder,
            skip=skip,
            source_folder=source_folder,
            status=status,
            agent=agent,
            bytes_cloned=bytes_cloned,
            copy_started=copy_started,
            created_dirs=created_dirs,
            download=download,
            files_cloned=files_cloned,
            finished_at=finished_at,
            folder_times=folder_times,
            moved_aside=moved_aside,
            safety_copy=safety_copy,
            safety_created=safety_created,
            slot=slot,
            started_at=started_at,
            undo=undo,
        )

        component_restore.additional_properties = d
        return component_restore

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
