"""S3-compatible object storage: the :class:`~derlink.platform.files.FileStore` of ``s3://`` URLs.

``s3://[access:secret@]bucket/optional/prefix?endpoint=http://127.0.0.1:9000&region=us-east-1``

Names are the keys under the prefix (``prefix/name``). Credentials come from the URL's user info
(percent-encode a ``/`` in the secret as ``%2F``) or else boto3's usual chain (``AWS_*``
variables, the shared files, the instance's role). With an ``endpoint`` (MinIO, Ceph, a local
test server) requests use path-style addressing.

boto3 is blocking, so every call runs in a worker thread. Large files stream: a write sends
parts of :data:`~derlink.platform.files.CHUNK` bytes as an S3 multipart upload (S3 wants every
part but the last to be at least 5 MiB), a read streams one ranged GET. A resumable upload is an
S3 multipart upload, its id ``<name>|<UploadId>``.

Network failures, 5xx and throttling are :class:`~derlink.common.errors.RemoteFault` (the hub
retries them); refused credentials are a :class:`~derlink.common.errors.ConfigurationError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterable, AsyncIterator, Callable
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import boto3
import botocore.exceptions as boto_errors
import urllib3.exceptions
from botocore.config import Config

from derlink.common.errors import (
    ConfigurationError,
    DerlinkError,
    RemoteFault,
    TechnicalFault,
)
from derlink.platform.files import (
    CHUNK,
    FileExists,
    FileInfo,
    FileMissing,
    Listing,
    UnsafeName,
    check_entry,
    listing,
    safe_name,
    shown,
)

#: Size of the parts a write sends; S3 wants every part but the last to be 5 MiB or more.
_PART = max(CHUNK, 5 * 1024 * 1024)
#: The largest object a single CopyObject can copy (bigger ones need a multipart copy).
_COPY_LIMIT = 5 * 1024**3
#: S3 error codes meaning "slow down, try later".
_THROTTLED = {
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "RequestTimeout",
    "ServiceUnavailable",
    "InternalError",
}
_DENIED = {
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidToken",
    "ExpiredToken",
}
_MISSING = {"NoSuchKey", "NotFound", "404"}
_QUERY_KEYS = {"endpoint", "region"}


class S3Store:
    """Keys under a prefix of one bucket."""

    def __init__(
        self,
        *,
        bucket: str,
        prefix: str = "",
        endpoint: str | None = None,
        region: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
    ) -> None:
        if not bucket:
            raise ConfigurationError("an s3 store needs a bucket")
        if (access_key is None) != (secret_key is None):
            raise ConfigurationError(f"s3://{bucket}: give both the access key and the secret")
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.endpoint = endpoint
        self.region = region
        self._access_key = access_key
        self._secret_key = secret_key
        self.location = f"s3://{bucket}/{self.prefix}" + (
            f"?endpoint={endpoint}" if endpoint else ""
        )
        self._client: Any = None
        self._client_lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str) -> S3Store:
        parsed = urlparse(url)
        bucket = parsed.netloc.rsplit("@", 1)[-1]
        if parsed.scheme != "s3" or not bucket:
            raise ConfigurationError(f"not an s3:// URL with a bucket: {_redact(url)!r}")
        query = parse_qs(parsed.query, keep_blank_values=True)
        unknown = set(query) - _QUERY_KEYS
        if unknown:
            raise ConfigurationError(
                f"unknown setting(s) {sorted(unknown)} in the s3 URL {_redact(url)!r}; "
                f"known: {sorted(_QUERY_KEYS)}"
            )
        has_credentials = "@" in parsed.netloc
        if has_credentials and (not parsed.username or parsed.password is None):
            raise ConfigurationError(
                f"the s3 URL {_redact(url)!r} must carry access:secret@ or no credentials at all"
            )
        return cls(
            bucket=bucket,
            prefix=unquote(parsed.path),
            endpoint=query.get("endpoint", [""])[-1] or None,
            region=query.get("region", [""])[-1] or None,
            access_key=unquote(parsed.username) if has_credentials and parsed.username else None,
            secret_key=unquote(parsed.password)
            if has_credentials and parsed.password is not None
            else None,
        )

    # -- the client -----------------------------------------------------------------------

    def _s3(self) -> Any:
        """The boto3 client, made on first use (boto3 clients are thread-safe)."""
        with self._client_lock:
            if self._client is None:
                self._client = self._make_client()
            return self._client

    def _make_client(self) -> Any:
        try:
            session = boto3.session.Session(
                aws_access_key_id=self._access_key,
                aws_secret_access_key=self._secret_key,
                region_name=self.region,
            )
            client = session.client(
                "s3",
                endpoint_url=self.endpoint,
                config=Config(
                    connect_timeout=10,
                    read_timeout=60,
                    # One quick retry here; the hub's own retries with backoff do the rest.
                    retries={"mode": "standard", "max_attempts": 2},
                    s3={"addressing_style": "path"} if self.endpoint else None,
                    # Many S3-compatible servers reject the newer default checksums.
                    request_checksum_calculation="when_required",
                    response_checksum_validation="when_required",
                ),
            )
        except (boto_errors.BotoCoreError, ValueError) as exc:
            raise ConfigurationError(f"cannot set up {self.location}: {exc}") from None
        try:
            client.head_bucket(Bucket=self.bucket)
        except boto_errors.ClientError as exc:
            # A missing bucket answers a HEAD with a bare 404: tell it apart from a missing key
            # once, here. A 403 may only mean the key may not list the bucket: carry on.
            if _status(exc) == 404:
                client.close()
                raise RemoteFault(
                    f"the bucket {self.bucket!r} does not exist at "
                    f"{self.endpoint or 'AWS'}: check the store's URL",
                    code="DL-S3-NO-BUCKET",
                ) from None
            if _status(exc) != 403:
                client.close()
                raise self._fault(exc, "opening the bucket", None) from None
        except BaseException as exc:
            client.close()
            if isinstance(exc, boto_errors.BotoCoreError | OSError):
                raise self._fault(exc, "opening the bucket", None) from None
            raise
        return client

    async def _call(self, doing: str, name: str | None, method: str, **kwargs: Any) -> Any:
        """One S3 request in a worker thread, its errors translated."""

        def run() -> Any:
            return getattr(self._s3(), method)(Bucket=self.bucket, **kwargs)

        return await self._thread(doing, name, run)

    async def _thread(self, doing: str, name: str | None, work: Callable[[], Any]) -> Any:
        try:
            return await asyncio.to_thread(work)
        except DerlinkError:
            raise
        except (
            boto_errors.ClientError,
            boto_errors.BotoCoreError,
            urllib3.exceptions.HTTPError,
            OSError,
        ) as exc:
            raise self._fault(exc, doing, name) from None

    def _fault(self, exc: BaseException, doing: str, name: str | None) -> DerlinkError:
        where = f"{doing} on {self.location}"
        if isinstance(exc, boto_errors.ClientError):
            code = str(exc.response.get("Error", {}).get("Code", ""))
            text = str(exc.response.get("Error", {}).get("Message", "")) or code
            status = _status(exc)
            if code == "NoSuchBucket":
                return RemoteFault(
                    f"{where}: the bucket {self.bucket!r} does not exist: check the store's URL",
                    code="DL-S3-NO-BUCKET",
                )
            if code == "NoSuchUpload":
                return FileMissing(f"{where}: the upload is not (or no longer) there", file=name)
            if code in _MISSING or status == 404:
                return FileMissing(f"{name} is not in {self.location}", file=name)
            if status >= 500 or status == 429 or code in _THROTTLED:
                return RemoteFault(f"{where} failed: {code} ({status}): {text}")
            if code in _DENIED or status == 403:
                return ConfigurationError(f"{where} was refused: {code}: {text}")
            return TechnicalFault(f"{where} was rejected: {code} ({status}): {text}")
        if isinstance(
            exc,
            boto_errors.NoCredentialsError
            | boto_errors.PartialCredentialsError
            | boto_errors.ProfileNotFound
            | boto_errors.NoRegionError,
        ):
            return ConfigurationError(f"{where}: {exc}")
        if isinstance(
            exc,
            boto_errors.ConnectionError
            | boto_errors.HTTPClientError
            | boto_errors.IncompleteReadError
            | urllib3.exceptions.HTTPError
            | OSError,
        ):
            return RemoteFault(f"{where} failed: {type(exc).__name__}: {exc}")
        return TechnicalFault(f"{where} failed: {type(exc).__name__}: {exc}")

    def _key(self, name: str) -> str:
        return self.prefix + safe_name(name)

    # -- the FileStore calls --------------------------------------------------------------

    async def scan(self, prefix: str = "") -> Listing:
        def scan() -> Listing:
            pages = self._s3().get_paginator("list_objects_v2")
            found: list[tuple[FileInfo, str | None]] = []
            # The delimiter keeps "folders" under the prefix out: names are flat.
            for page in pages.paginate(
                Bucket=self.bucket, Prefix=self.prefix + prefix, Delimiter="/"
            ):
                for item in page.get("Contents", []):
                    name = str(item["Key"])[len(self.prefix) :]
                    if not name or name.startswith("."):
                        continue  # the prefix's own marker, or a hidden object
                    info = FileInfo(name, int(item["Size"]), item["LastModified"].timestamp())
                    found.append((info, None))  # an object is a regular file
            return listing(found)

        result: Listing = await self._thread(f"listing {prefix}*", None, scan)
        return result

    async def list_files(self, prefix: str = "") -> list[FileInfo]:
        return (await self.scan(prefix)).files

    async def stat(self, name: str) -> FileInfo:
        head = await self._call(
            f"reading the size of {name}", name, "head_object", Key=self._key(name)
        )
        return FileInfo(name, int(head["ContentLength"]), head["LastModified"].timestamp())

    async def read(
        self, name: str, offset: int = 0, chunk_size: int = CHUNK
    ) -> AsyncIterator[bytes]:
        key = self._key(name)
        span = f"bytes={offset}-" if offset > 0 else None
        body = await self._thread(f"reading {name}", name, lambda: self._get(key, span))
        if body is None:
            return
        try:
            while True:
                chunk: bytes = await self._thread(
                    f"reading {name}", name, lambda: body.read(chunk_size)
                )
                if not chunk:
                    return
                yield chunk
        finally:
            body.close()

    async def read_range(self, name: str, offset: int, length: int) -> bytes:
        if length <= 0:
            await self.stat(name)  # still FileMissing for a missing file
            return b""
        key, span = self._key(name), f"bytes={offset}-{offset + length - 1}"

        def fetch() -> bytes:
            body = self._get(key, span)
            if body is None:
                return b""
            with contextlib.closing(body):
                data: bytes = body.read()
            return data

        data: bytes = await self._thread(f"reading {name}", name, fetch)
        return data

    def _get(self, key: str, span: str | None) -> Any:
        """The streaming body of a GET, or None if the range starts past the end."""
        try:
            if span is None:
                answer = self._s3().get_object(Bucket=self.bucket, Key=key)
            else:
                answer = self._s3().get_object(Bucket=self.bucket, Key=key, Range=span)
        except boto_errors.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "InvalidRange":
                return None
            raise
        return answer["Body"]

    async def write(self, name: str, chunks: AsyncIterable[bytes]) -> int:
        key = self._key(name)
        doing = f"writing {name}"
        buffer = bytearray()
        size = 0
        upload: str | None = None
        parts: list[dict[str, Any]] = []
        try:
            async for chunk in chunks:
                buffer += chunk
                size += len(chunk)
                if len(buffer) >= _PART:
                    if upload is None:
                        created = await self._call(doing, name, "create_multipart_upload", Key=key)
                        upload = str(created["UploadId"])
                    parts.append(await self._send_part(doing, name, key, upload, parts, buffer))
                    buffer.clear()
            if upload is None:
                # A small file: one request, and S3 publishes it atomically.
                await self._call(doing, name, "put_object", Key=key, Body=bytes(buffer))
                return size
            if buffer:
                parts.append(await self._send_part(doing, name, key, upload, parts, buffer))
            await self._call(
                doing,
                name,
                "complete_multipart_upload",
                Key=key,
                UploadId=upload,
                MultipartUpload={"Parts": parts},
            )
            upload = None
        finally:
            if upload is not None:
                with contextlib.suppress(DerlinkError):
                    await self._call(
                        doing, name, "abort_multipart_upload", Key=key, UploadId=upload
                    )
        return size

    async def _send_part(
        self,
        doing: str,
        name: str,
        key: str,
        upload: str,
        parts: list[dict[str, Any]],
        buffer: bytearray,
    ) -> dict[str, Any]:
        number = len(parts) + 1
        answer = await self._call(
            doing,
            name,
            "upload_part",
            Key=key,
            UploadId=upload,
            PartNumber=number,
            Body=bytes(buffer),
        )
        return {"PartNumber": number, "ETag": answer["ETag"]}

    async def _refuse_taken(self, doing: str, target: str, key: str) -> None:
        """:class:`FileExists` if ``key`` (the name ``target``) is there."""
        try:
            await self._call(doing, target, "head_object", Key=key)
        except FileMissing:
            return
        raise FileExists(f"{target} is already in {self.location}", file=target)

    async def rename(self, source: str, target: str) -> None:
        src, dst = self._key(source), self._key(target)
        doing = f"renaming {source} to {target}"
        await self._refuse_taken(doing, target, dst)
        head = await self._call(doing, source, "head_object", Key=src)
        if int(head["ContentLength"]) > _COPY_LIMIT:
            raise TechnicalFault(
                f"{doing} on {self.location}: {source} is larger than 5 GiB, which one S3 copy "
                "cannot move; copy it with a resumable upload instead",
                file=source,
            )
        await self._call(
            doing, source, "copy_object", Key=dst, CopySource={"Bucket": self.bucket, "Key": src}
        )
        await self._call(doing, source, "delete_object", Key=src)

    async def set_aside(self, entry: str, target: str) -> None:
        src, dst = self.prefix + check_entry(entry), self._key(target)
        doing = f"setting '{shown(entry)}' aside"
        await self._refuse_taken(doing, target, dst)
        label = f"'{shown(entry)}'"
        await self._call(doing, label, "head_object", Key=src)
        await self._call(
            doing, label, "copy_object", Key=dst, CopySource={"Bucket": self.bucket, "Key": src}
        )
        await self._call(doing, label, "delete_object", Key=src)

    async def delete(self, name: str) -> None:
        # S3 answers a delete of a missing key with success.
        await self._call(f"removing {name}", name, "delete_object", Key=self._key(name))

    async def begin_upload(self, name: str) -> str:
        created = await self._call(
            f"starting the upload of {name}", name, "create_multipart_upload", Key=self._key(name)
        )
        return f"{name}|{created['UploadId']}"

    def _upload(self, upload_id: str) -> tuple[str, str]:
        """The name and S3 UploadId an upload id carries, checked."""
        name, _, upload = upload_id.partition("|") if isinstance(upload_id, str) else ("", "", "")
        if not upload:
            raise UnsafeName(f"{upload_id!r} is not an upload id of this store")
        return safe_name(name), upload

    async def upload_part(self, upload_id: str, number: int, offset: int, data: bytes) -> str:
        name, upload = self._upload(upload_id)
        answer = await self._call(
            f"writing part {number} of {name}",
            name,
            "upload_part",
            Key=self._key(name),
            UploadId=upload,
            PartNumber=number,
            Body=data,
        )
        return str(answer["ETag"])

    async def complete_upload(self, upload_id: str, parts: list[str]) -> None:
        name, upload = self._upload(upload_id)
        numbered = [{"PartNumber": i, "ETag": etag} for i, etag in enumerate(parts, start=1)]
        try:
            await self._call(
                f"publishing {name}",
                name,
                "complete_multipart_upload",
                Key=self._key(name),
                UploadId=upload,
                MultipartUpload={"Parts": numbered},
            )
        except FileMissing:
            # Completed before a crash, and replayed: the upload is gone, the file is there.
            await self.stat(name)

    async def abort_upload(self, upload_id: str) -> None:
        name, upload = self._upload(upload_id)
        with contextlib.suppress(FileMissing):
            await self._call(
                f"aborting the upload of {name}",
                name,
                "abort_multipart_upload",
                Key=self._key(name),
                UploadId=upload,
            )

    async def close(self) -> None:
        with self._client_lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()


def _status(exc: boto_errors.ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


def _redact(url: str) -> str:
    """The URL without its secret, for messages."""
    parsed = urlparse(url)
    if parsed.password is None:
        return url
    netloc = parsed.netloc.rsplit("@", 1)[1]
    return parsed._replace(netloc=f"{parsed.username}:***@{netloc}").geturl()
