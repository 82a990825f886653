from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="ReplicationTargetView")


@_attrs_define
class ReplicationTargetView:
    """A replication target as the API shows it: its name and settings. Credentials appear only
    as the paths of the files holding them (or not at all, when they come from the environment).

        Attributes:
            bucket (str): The bucket; it must exist (the replication never creates one). Example: maestro-offsite.
            endpoint (str): The S3 endpoint, http or https (`https://s3.eu-central-1.amazonaws.com`,
                `http://minio.internal:9000`). Example: https://s3.example.com.
            name (str):  Example: offsite.
            access_key_file (None | str | Unset): File holding the access key ID. With `secret_key_file`; absolute, or
                relative to the
                config file's folder. Example: /etc/backup-master/s3.access.
            concurrency (int | None | Unset): Uploads in flight at once, 1 to 64 (default 4). Example: 4.
            decrypt_identity_file (None | str | Unset): With `encrypt_recipients_file`: the `age` identity file (`AGE-
                SECRET-KEY-1...`) of one
                of the recipients, for restoring and deep verification. Without it those fail; copying,
                quick verification, retention and listing work. Example: /etc/backup-master/offsite.identity.
            encrypt_passphrase_file (None | str | Unset): Client-side encryption with a passphrase (the file's trimmed
                content): the first
                replication stores a generated `age` identity on the bucket (`keys/identity.age`),
                encrypted with the passphrase, and encrypts everything to it. Not with
                `encrypt_recipients_file`. Example: /etc/backup-master/offsite.passphrase.
            encrypt_recipients_file (None | str | Unset): Client-side encryption: file of `age` X25519 recipients
                (`age1...`, one per line, `#`
                comments). Blobs and manifests are encrypted to them before upload; restoring and deep
                verification need `decrypt_identity_file`. Not with `encrypt_passphrase_file`. Example: /etc/backup-
                master/offsite.recipients.
            keep (int | None | Unset): Sets kept on the bucket, 1 to 10000, independent of the local history: after each
                replication the older manifests are removed, then the blobs no remaining set uses.
                The newest set that verified (replicated or checked by this server) is never removed.
                Absent: every set is kept. Example: 14.
            max_bytes_per_second (int | None | Unset): Upload bandwidth limit in bytes per second over all uploads; 0 or
                absent: unlimited. Example: 0.
            mode (None | str | Unset): `after_backup` (each successful backup is replicated when it ends) or `manual` (only
                `POST /replication-targets/{name}/replicate`); default `manual`. Example: after_backup.
            path_style (bool | None | Unset): Path-style addressing (`<endpoint>/<bucket>/<key>`), as most self-hosted
                stores need;
                default false (virtual-hosted style).
            prefix (None | str | Unset): Key prefix inside the bucket (`site-a/`); empty: the bucket's root. Example:
                site-a.
            region (None | str | Unset): Signing region (default `us-east-1`). Example: eu-central-1.
            secret_key_file (None | str | Unset): File holding the secret access key. With `access_key_file`. Example:
                /etc/backup-master/s3.secret.
            timeout_seconds (int | None | Unset): Seconds one request to the store may take, 1 to 3600 (default 60); a
                request that
                takes longer is retried. Example: 60.
            unreferenced_grace_seconds (int | None | Unset): With `keep`: a blob no set uses is removed only once it is this
                old (default 86400, a
                day; 0 to 2592000), so a replication of another server to the same bucket never loses
                a blob it uploaded and has not referenced yet. Example: 86400.
    """

    bucket: str
    endpoint: str
    name: str
    access_key_file: None | str | Unset = UNSET
    concurrency: int | None | Unset = UNSET
    decrypt_identity_file: None | str | Unset = UNSET
    encrypt_passphrase_file: None | str | Unset = UNSET
    encrypt_recipients_file: None | str | Unset = UNSET
    keep: int | None | Unset = UNSET
    max_bytes_per_second: int | None | Unset = UNSET
    mode: None | str | Unset = UNSET
    path_style: bool | None | Unset = UNSET
    prefix: None | str | Unset = UNSET
    region: None | str | Unset = UNSET
    secret_key_file: None | str | Unset = UNSET
    timeout_seconds: int | None | Unset = UNSET
    unreferenced_grace_seconds: int | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        bucket = self.bucket

        endpoint = self.endpoint

        name = self.name

        access_key_file: None | str | Unset
        if isinstance(self.access_key_file, Unset):
            access_key_file = UNSET
        else:
            access_key_file = self.access_key_file

        concurrency: int | None | Unset
        if isinstance(self.concurrency, Unset):
            concurrency = UNSET
        else:
            concurrency = self.concurrency

        decrypt_identity_file: None | str | Unset
        if isinstance(self.decrypt_identity_file, Unset):
            decrypt_identity_file = UNSET
        else:
            decrypt_identity_file = self.decrypt_identity_file

        encrypt_passphrase_file: None | str | Unset
        if isinstance(self.encrypt_passphrase_file, Unset):
            encrypt_passphrase_file = UNSET
        else:
            encrypt_passphrase_file = self.encrypt_passphrase_file

        encrypt_recipients_file: None | str | Unset
        if isinstance(self.encrypt_recipients_file, Unset):
            encrypt_recipients_file = UNSET
        else:
            encrypt_recipients_file = self.encrypt_recipients_file

        keep: int | None | Unset
        if isinstance(self.keep, Unset):
            keep = UNSET
        else:
            keep = self.keep

        max_bytes_per_second: int | None | Unset
        if isinstance(self.max_bytes_per_second, Unset):
            max_bytes_per_second = UNSET
        else:
            max_bytes_per_second = self.max_bytes_per_second

        mode: None | str | Unset
        if isinstance(self.mode, Unset):
            mode = UNSET
        else:
            mode = self.mode

        path_style: bool | None | Unset
        if isinstance(self.path_style, Unset):
            path_style = UNSET
        else:
            path_style = self.path_style

        prefix: None | str | Unset
        if isinstance(self.prefix, Unset):
            prefix = UNSET
        else:
            prefix = self.prefix

        region: None | str | Unset
        if isinstance(self.region, Unset):
            region = UNSET
        else:
            region = self.region

        secret_key_file: None | str | Unset
        if isinstance(self.secret_key_file, Unset):
            secret_key_file = UNSET
        else:
            secret_key_file = self.secret_key_file

        timeout_seconds: int | None | Unset
        if isinstance(self.timeout_seconds, Unset):
            timeout_seconds = UNSET
        else:
            timeout_seconds = self.timeout_seconds

        unreferenced_grace_seconds: int | None | Unset
        if isinstance(self.unreferenced_grace_seconds, Unset):
            unreferenced_grace_seconds = UNSET
        else:
            unreferenced_grace_seconds = self.unreferenced_grace_seconds

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "bucket": bucket,
                "endpoint": endpoint,
                "name": name,
            }
        )
        if access_key_file is not UNSET:
            field_dict["access_key_file"] = access_key_file
        if concurrency is not UNSET:
            field_dict["concurrency"] = concurrency
        if decrypt_identity_file is not UNSET:
            field_dict["decrypt_identity_file"] = decrypt_identity_file
        if encrypt_passphrase_file is not UNSET:
            field_dict["encrypt_passphrase_file"] = encrypt_passphrase_file
        if encrypt_recipients_file is not UNSET:
            field_dict["encrypt_recipients_file"] = encrypt_recipients_file
        if keep is not UNSET:
            field_dict["keep"] = keep
        if max_bytes_per_second is not UNSET:
            field_dict["max_bytes_per_second"] = max_bytes_per_second
        if mode is not UNSET:
            field_dict["mode"] = mode
        if path_style is not UNSET:
            field_dict["path_style"] = path_style
        if prefix is not UNSET:
            field_dict["prefix"] = prefix
        if region is not UNSET:
            field_dict["region"] = region
        if secret_key_file is not UNSET:
            field_dict["secret_key_file"] = secret_key_file
        if timeout_seconds is not UNSET:
            field_dict["timeout_seconds"] = timeout_seconds
        if unreferenced_grace_seconds is not UNSET:
            field_dict["unreferenced_grace_seconds"] = unreferenced_grace_seconds

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        bucket = d.pop("bucket")

        endpoint = d.pop("endpoint")

        name = d.pop("name")

        def _parse_access_key_file(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        access_key_file = _parse_access_key_file(d.pop("access_key_file", UNSET))

        def _parse_concurrency(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        concurrency = _parse_concurrency(d.pop("concurrency", UNSET))

        def _parse_decrypt_identity_file(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        decrypt_identity_file = _parse_decrypt_identity_file(d.pop("decrypt_identity_file", UNSET))

        def _parse_encrypt_passphrase_file(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        encrypt_passphrase_file = _parse_encrypt_passphrase_file(d.pop("encrypt_passphrase_file", UNSET))

        def _parse_encrypt_recipients_file(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        encrypt_recipients_file = _parse_encrypt_recipients_file(d.pop("encrypt_recipients_file", UNSET))

        def _parse_keep(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        keep = _parse_keep(d.pop("keep", UNSET))

        def _parse_max_bytes_per_second(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        max_bytes_per_second = _parse_max_bytes_per_second(d.pop("max_bytes_per_second", UNSET))

        def _parse_mode(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        mode = _parse_mode(d.pop("mode", UNSET))

        def _parse_path_style(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        path_style = _parse_path_style(d.pop("path_style", UNSET))

        def _parse_prefix(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        prefix = _parse_prefix(d.pop("prefix", UNSET))

        def _parse_region(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        region = _parse_region(d.pop("region", UNSET))

        def _parse_secret_key_file(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        secret_key_file = _parse_secret_key_file(d.pop("secret_key_file", UNSET))

        def _parse_timeout_seconds(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        timeout_seconds = _parse_timeout_seconds(d.pop("timeout_seconds", UNSET))

        def _parse_unreferenced_grace_seconds(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        unreferenced_grace_seconds = _parse_unreferenced_grace_seconds(d.pop("unreferenced_grace_seconds", UNSET))

        replication_target_view = cls(
            bucket=bucket,
            endpoint=endpoint,
            name=name,
            access_key_file=access_key_file,
            concurrency=concurrency,
            decrypt_identity_file=decrypt_identity_file,
            encrypt_passphrase_file=encrypt_passphrase_file,
            encrypt_recipients_file=encrypt_recipients_file,
            keep=keep,
            max_bytes_per_second=max_bytes_per_second,
            mode=mode,
            path_style=path_style,
            prefix=prefix,
            region=region,
            secret_key_file=secret_key_file,
            timeout_seconds=timeout_seconds,
            unreferenced_grace_seconds=unreferenced_grace_seconds,
        )

        return replication_target_view
