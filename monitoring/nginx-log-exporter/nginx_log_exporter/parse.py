"""nginx's JSON access-log lines (nginx/conf.d/logging.conf) as requests and upstream tries."""

import json
import re
from dataclasses import dataclass

# $upstream_* separate the tries of one proxy_pass with ", ", and the rounds started by an
# error_page redirect (our @second_try) with " : ", e.g. "502 : 200".
# https://nginx.org/en/docs/http/ngx_http_upstream_module.html#var_upstream_addr
_TRY_SEPARATOR = re.compile(r", | : ")


class NotAccessLog(ValueError):
    """A line that is not one of our JSON access-log lines."""


@dataclass(frozen=True)
class Try:
    """One upstream try: a replica's "IP:port", its status ("-": no response) and seconds."""

    upstream: str
    status: str
    seconds: float | None


@dataclass(frozen=True)
class Request:
    """One access-log line: the status the client got, its $request_time, every upstream try."""

    status: str
    seconds: float
    tries: tuple[Try, ...]


def parse_request(line: str) -> Request:
    """The request one access-log line describes; NotAccessLog if it is not our format."""
    try:
        entry = json.loads(line)
        status = str(int(entry["status"]))
        seconds = float(entry["request_time"])
        tries = _tries(entry["upstream_addr"], entry["upstream_status"], entry["upstream_response_time"])
    except (ValueError, TypeError, KeyError) as error:
        raise NotAccessLog(str(error)) from None
    return Request(status, seconds, tries)


def _tries(addrs: str, statuses: str, times: str) -> tuple[Try, ...]:
    if not addrs:  # answered by nginx itself: no replica was asked
        return ()
    addr_list, status_list = _TRY_SEPARATOR.split(addrs), _TRY_SEPARATOR.split(statuses)
    time_list = _TRY_SEPARATOR.split(times)
    if not len(addr_list) == len(status_list) == len(time_list):
        raise NotAccessLog(f"upstream fields disagree on the number of tries: {addrs!r}, {statuses!r}")
    return tuple(Try(a, s, _seconds(t)) for a, s, t in zip(addr_list, status_list, time_list, strict=True))


def _seconds(text: str) -> float | None:
    """A try's $upstream_response_time; "-" (no time) is None."""
    return None if text == "-" else float(text)
