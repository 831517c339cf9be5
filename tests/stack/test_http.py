# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""DESIGN §3 over HTTP against a real stack: the gateway's own behaviour
(routing errors, body limit, timeouts, keep-alive, the status collection),
through /barn, the C barn.  The barn scenario itself, run against every
barn (C, Python, Perl, PHP), is in test_barns.py.

The shared stack (conftest.stack) has /barn (the example barn) and /silo (a
handler no worker serves, 2 s timeout) and a 4096-byte body limit.
"""

import time
import uuid

import pytest

from conftest import check_error, unique


def list_statuses(client, **filters):
    matrix = "".join(";%s=%s" % (k, v) for k, v in filters.items())
    r = client.get("/barn/v1/status" + matrix)
    assert r.status == 200, r
    body = r.json()
    assert set(body) == {"statuses"}, body
    return body["statuses"]


def status_id(status):
    return status["status_uri"].rsplit("/", 1)[1]


def create(client, name, body=None, method="PUT"):
    """Creates an animal and waits for its job to succeed; returns the final status."""
    s = client.accepted(method, "/barn/v1/animal/" + name, body or {"name": name})
    done = client.wait_completed(s["status_uri"])
    assert done["code"] == 0, done
    return done


# ---- gateway behaviour (the C barn only; tests/stack/test_barns.py runs the
# barn scenario against every barn) ----------------------------------------

def test_keep_alive(client):
    name = unique("Alive")
    create(client, name)
    conn = client.connection()
    try:
        first = client.get("/barn/v1/animal/" + name, conn=conn)
        assert first.status == 200
        sock = conn.sock
        assert sock is not None, "the gateway closed the connection after one request"
        assert first.headers.get("Connection", "").lower() != "close"
        second = client.get("/barn/v1/status;_count=1", conn=conn)
        assert second.status == 200
        third = client.put("/barn/v1/animal/" + name, {"name": name}, conn=conn)
        assert third.status == 202
        assert conn.sock is sock, "the second request needed a new connection"
    finally:
        conn.close()


def test_sync_without_worker_is_504(client):
    r = client.get("/silo/v1/grain/wheat")
    check_error(r, 504, "get", "GATEWAY_TIME_OUT [504]", "/silo/v1/grain/wheat")


# ---- request errors (400, 413) -----------------------------------------------

def assert_nothing_created(client, name):
    assert list_statuses(client, uri=name) == []


def test_malformed_json_is_400(client):
    name = unique("Garbled")
    r = client.put("/barn/v1/animal/" + name, '{"name": ')
    check_error(r, 400, "create", "BAD_REQUEST [400]: ")
    assert "JSON" in r.json()["messages"][0]
    assert_nothing_created(client, name)


@pytest.mark.parametrize("method, path, message", [
    ("GET", "/barn/v1/cow/Bessie", "No valid handler found!"),
    ("PUT", "/barn/v1/cow/Bessie", "No valid handler found!"),
    ("GET", "/barn/x1/animal/Wilbur", "Invalid API version designation."),
    ("GET", "/barn/animal/Wilbur", "Invalid API version designation."),
    ("GET", "/barn/v1", "Incomplete API uri specified - no resource."),
    ("GET", "/barn/v1/", "Incomplete API uri specified - no resource."),
    ("GET", "/barn/v1/animal/Wilbur;=x", "Malformed matrix argument"),
    ("GET", "/barn/v1/animal/Wilbur;a=1;;b=2", "Malformed matrix argument"),
])
def test_request_errors_are_400(client, method, path, message):
    r = client.request(method, path, {"name": "Bessie"} if method == "PUT" else None)
    assert r.status == 400, r
    body = r.json()
    assert body["code"] == 400 and body["state"] == "COMPLETED" and body["progress"] == 100, body
    assert body["messages"][0].startswith("BAD_REQUEST [400]: "), body
    assert message in body["messages"][0], body


def test_body_over_limit_is_413(client):
    name = unique("Huge")
    r = client.put("/barn/v1/animal/" + name, {"name": name, "species": "x" * 5000})
    check_error(r, 413, "create", "REQUEST_ENTITY_TOO_LARGE [413]: ")
    assert_nothing_created(client, name)
    # The gateway still serves requests afterwards.
    assert client.get("/barn/v1/status;_count=1").status == 200


# ---- status objects -------------------------------------------------------

@pytest.mark.parametrize("id", ["s-" + "0" * 26, "nonsense"])
def test_status_get_unknown_is_404(client, id):
    r = client.get("/barn/v1/status/" + id)
    body = check_error(r, 404, "get", "NOT_FOUND [404]: ")
    assert id in body["messages"][0]


def test_status_reads_do_not_change_mtime(client):
    name = unique("Still")
    done = create(client, name)
    time.sleep(1.1)  # so that a read that touched mtime would show a later second
    again = client.status(done["status_uri"])
    listed = client.get("/barn/v1/status;_expand=1;uri=" + name).json()["statuses"]
    assert again["mtime"] == done["mtime"]
    assert [s["mtime"] for s in listed] == [done["mtime"]]
    assert client.status(done["status_uri"]) == again


def test_status_collection_order_and_filters(client):
    tag = unique("ord")
    names = ["%s-%d" % (tag, i) for i in range(5)]
    # Created back to back, most within one second: order must still be
    # newest first by creation.
    created = [client.accepted("PUT", "/barn/v1/animal/" + n, {"name": n}) for n in names]
    ids = [status_id(s) for s in created]
    for s in created:
        assert client.wait_completed(s["status_uri"])["code"] == 0
    newest_first = list(reversed(ids))

    assert list_statuses(client, uri=tag) == newest_first
    assert list_statuses(client, uri=tag, _count=2) == newest_first[:2]
    assert list_statuses(client, uri=names[3]) == [ids[3]]
    assert list_statuses(client, uri=tag, state="COMPLETED") == newest_first
    assert list_statuses(client, uri=tag, state="PENDING") == []
    assert list_statuses(client, uri=tag, operation="create") == newest_first
    assert list_statuses(client, uri=tag, component="barn") == newest_first

    deletion = client.accepted("DELETE", "/barn/v1/animal/" + names[0])
    client.wait_completed(deletion["status_uri"])
    failed = client.accepted("DELETE", "/barn/v1/animal/" + tag + "-missing")
    client.wait_completed(failed["status_uri"])
    assert list_statuses(client, uri=tag, operation="delete") == [status_id(failed), status_id(deletion)]
    assert list_statuses(client, uri=tag, code=404) == [status_id(failed)]
    assert list_statuses(client, uri=tag, _count=3) == [status_id(failed), status_id(deletion)] + newest_first[:1]

    expanded = client.get("/barn/v1/status;_expand=1;_count=3;uri=" + tag)
    assert expanded.status == 200
    objects = expanded.json()["statuses"]
    assert [status_id(s) for s in objects] == [status_id(failed), status_id(deletion), newest_first[0]]
    assert objects[2]["uri"].endswith("/barn/v1/animal/" + names[4])
    assert objects[2]["state"] == "COMPLETED" and objects[2]["progress"] == 100


def test_status_collection_default_count_is_10(client):
    tag = unique("many")
    created = [client.accepted("PUT", "/barn/v1/animal/%s-%d" % (tag, i), {"name": "%s-%d" % (tag, i)})
               for i in range(12)]
    for s in created:
        client.wait_completed(s["status_uri"])
    assert list_statuses(client, uri=tag) == [status_id(s) for s in reversed(created)][:10]
    assert len(list_statuses(client, uri=tag, _count=20)) == 12


# ---- RFC 9457 problem details ------------------------------------------------

PROBLEM = {"Accept": "application/problem+json"}


def test_schema_violations_as_problem_details(client):
    """With Accept: application/problem+json a schema 400 lists every
    violation with the JSON pointer of the instance it concerns."""
    name = unique("Problem")
    r = client.put("/barn/v1/animal/" + name, {"name": 7, "legs": "four", "wings": 2}, headers=PROBLEM)
    assert r.status == 400, r
    assert r.headers["Content-Type"] == "application/problem+json", r.headers
    body = r.json()
    assert body["type"] == "about:blank"
    assert body["title"] == "Bad Request"
    assert body["status"] == 400
    assert body["instance"].endswith("/barn/v1/animal/" + name), body
    assert body["operation"] == "create"
    assert [e["pointer"] for e in body["errors"]] == ["/name", "/legs", "/wings"], body
    assert all(e["detail"] for e in body["errors"]), body
    assert body["detail"] == body["errors"][0]["detail"], body
    # Nothing was queued: the newest status of this location is not for it.
    latest = client.get("/barn/v1/status;_count=1;_expand=1").json()["statuses"]
    assert not latest or not latest[0]["uri"].endswith(name), latest


def test_routing_error_as_problem_details(client):
    r = client.get("/barn/v1/cow/Bessie", headers=PROBLEM)
    assert r.status == 400, r
    assert r.headers["Content-Type"] == "application/problem+json", r.headers
    body = r.json()
    assert body["detail"] == "No valid handler found!", body
    assert body["status"] == 400 and "errors" not in body, body
    # Without the Accept header the compatible body stays.
    plain = client.get("/barn/v1/cow/Bessie")
    assert plain.headers["Content-Type"].startswith("application/json")
    assert plain.json()["messages"] == ["BAD_REQUEST [400]: No valid handler found!"]


# ---- Idempotency-Key ----------------------------------------------------------

def test_idempotency_key_replays_the_first_status(client):
    name = unique("Once")
    path = "/barn/v1/animal/" + name
    key = {"Idempotency-Key": '"%s"' % uuid.uuid4()}
    first = client.put(path, {"name": name}, headers=key)
    assert first.status == 202, first
    assert "Idempotent-Replayed" not in first.headers
    status_uri = first.json()["status_uri"]
    # The same request again, as a client retrying after a lost answer: the
    # first status, no second job.
    again = client.put(path, {"name": name}, headers=key)
    assert again.status == 202, again
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.headers["Location"] == status_uri
    assert again.json()["status_uri"] == status_uri
    assert client.wait_completed(status_uri)["code"] == 0
    assert client.put(path, {"name": name}, headers=key).json()["state"] == "COMPLETED"
    assert client.get("/barn/v1/status;uri=" + name).json()["statuses"] == [status_uri.rsplit("/", 1)[1]]
    # The same key with another body (or resource) is another request: 422.
    check_error(client.put(path, {"name": name, "legs": 3}, headers=key), 422, "create",
                "Idempotency-Key was used for another request")
    check_error(client.put(path + "x", {"name": name}, headers=key), 422, "create",
                "Idempotency-Key was used for another request")
    # Keys are the location's: the same key elsewhere is a new request.
    other = client.put("/silo/v1/grain/" + name, {}, headers=key)
    assert other.status == 202 and other.json()["status_uri"] != status_uri, other


@pytest.mark.parametrize("value", ['""', "x" * 256, "tab\there"])
def test_bad_idempotency_key_is_400(client, value):
    name = unique("Badkey")
    check_error(client.put("/barn/v1/animal/" + name, {"name": name},
                           headers={"Idempotency-Key": value}),
                400, "create", "Idempotency-Key must be 1 to 255 printable ASCII characters")
    assert client.get("/barn/v1/status;uri=" + name).json()["statuses"] == []
