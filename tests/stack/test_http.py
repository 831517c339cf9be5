"""DESIGN §3 over HTTP against a real stack: gearmand, gateway, 2 barn workers.

The shared stack (conftest.stack) has /barn (the example barn) and /silo (a
handler no worker serves, 2 s timeout) and a 4096-byte body limit.
"""

import re
import time
import uuid

import pytest

from conftest import CROCKFORD, STATUS_ID, wait_for

ERROR_KEYS = {"uri", "progress", "state", "operation", "code", "messages"}


def unique(prefix):
    """A fresh animal name, so that tests do not see each other's statuses."""
    return "%s-%s" % (prefix, uuid.uuid4().hex[:10])


def check_error(r, code, operation, message, uri_suffix=None, exact=False):
    """The compatible error body: HTTP status == code, progress 100, COMPLETED."""
    assert r.status == code, r
    assert r.headers.get("Content-Type", "").startswith("application/json"), r.headers
    body = r.json()
    assert ERROR_KEYS <= set(body), body
    assert body["progress"] == 100
    assert body["state"] == "COMPLETED"
    assert body["code"] == code
    assert body["operation"] == operation
    assert isinstance(body["messages"], list) and len(body["messages"]) >= 1, body
    first = body["messages"][0]
    if exact:
        assert first == message, body
    else:
        assert message in first, body
    if uri_suffix is not None:
        assert body["uri"].endswith(uri_suffix), body
    return body


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


# ---- async: PUT, POST, DELETE ---------------------------------------------

def test_put_accepted_then_completed(stack, client):
    name = unique("Wilbur")
    r = client.put("/barn/v1/animal/" + name, {"name": name, "sound": "oink"})
    assert r.status == 202, r
    s = r.json()
    # The 202 carries the new status: pending, nothing done yet.
    assert s["state"] == "PENDING"
    assert s["progress"] == 0
    assert s["operation"] == "create"
    assert s["component"] == "barn"
    assert s["uri"] == "%s/barn/v1/animal/%s" % (stack.base, name)
    assert re.fullmatch(re.escape(stack.base + "/barn/v1/status/") + STATUS_ID.pattern, s["status_uri"]), s
    assert "code" not in s
    assert r.headers["Location"] == s["status_uri"]
    assert int(r.headers["Retry-After"]) >= 1

    done = client.wait_completed(s["status_uri"])
    assert done["code"] == 0, done
    assert done["progress"] == 100
    assert done["status_uri"] == s["status_uri"]
    assert 'animal "%s" created' % name in done["messages"]
    assert "%s is happily rolling around in the mud!" % name in done["messages"]
    assert done["concurrency"] == 0
    assert done["ctime"] <= done["mtime"]

    got = client.get("/barn/v1/animal/" + name)
    assert got.status == 200, got
    assert got.json() == {"name": name, "sound": "oink"}
    assert got.headers["Content-Type"].startswith("application/json")


def test_put_replaces(client):
    name = unique("Goose")
    create(client, name, {"name": name, "legs": 2})
    done = create(client, name, {"name": name, "sound": "honk"})
    assert 'animal "%s" replaced' % name in done["messages"]
    assert client.get("/barn/v1/animal/" + name).json() == {"name": name, "sound": "honk"}


def test_post_without_name_generates_one(stack, client):
    r = client.post("/barn/v1/animal", {"name": "Charlotte's cousin"})
    assert r.status == 202, r
    s = r.json()
    assert s["operation"] == "create"
    m = re.fullmatch(re.escape(stack.base + "/barn/v1/animal/") + "(a-[%s]{26})" % CROCKFORD, s["uri"])
    assert m, s
    generated = m.group(1)
    done = client.wait_completed(s["status_uri"])
    assert done["code"] == 0, done
    assert 'animal "%s" created' % generated in done["messages"]
    got = client.get(s["uri"])
    assert got.status == 200, got
    assert got.json() == {"name": "Charlotte's cousin", "species": "Sus domestica"}
    # Two creations, two names.
    other = client.accepted("POST", "/barn/v1/animal", {"name": "Another"})
    assert other["uri"] != s["uri"]
    client.wait_completed(other["status_uri"])


def test_post_with_name_updates(client):
    name = unique("Templeton")
    create(client, name, {"name": name, "species": "Rattus norvegicus"})
    s = client.accepted("POST", "/barn/v1/animal/" + name, {"sound": "squeak"})
    assert s["operation"] == "update"
    done = client.wait_completed(s["status_uri"])
    assert done["code"] == 0, done
    assert 'animal "%s" updated' % name in done["messages"]
    assert client.get("/barn/v1/animal/" + name).json() == \
        {"name": name, "species": "Rattus norvegicus", "sound": "squeak"}


def test_post_update_of_missing_animal_fails_in_status(client):
    name = unique("Ghost")
    s = client.accepted("POST", "/barn/v1/animal/" + name, {"sound": "boo"})
    done = client.wait_completed(s["status_uri"])
    assert done["code"] == 404
    assert done["progress"] == 100
    assert done["messages"][-1] == 'NOT_FOUND [404]: animal "%s" not found' % name


def test_delete(client):
    name = unique("Gussy")
    create(client, name)
    s = client.accepted("DELETE", "/barn/v1/animal/" + name)
    assert s["operation"] == "delete"
    assert s["state"] == "PENDING"
    done = client.wait_completed(s["status_uri"])
    assert done["code"] == 0, done
    assert 'animal "%s" deleted' % name in done["messages"]
    assert client.get("/barn/v1/animal/" + name).status == 404


def test_delete_missing_fails_but_status_reads_200(client):
    name = unique("Nobody")
    s = client.accepted("DELETE", "/barn/v1/animal/" + name)
    done = client.wait_completed(s["status_uri"])
    # A failed job is a COMPLETED status with a non-zero code, still 200 to read.
    assert done["state"] == "COMPLETED"
    assert done["code"] == 404
    assert done["messages"] == ['NOT_FOUND [404]: animal "%s" not found' % name]


# ---- sync: GET, HEAD ---------------------------------------------------------

def test_get_collection(client):
    name = unique("Fern")
    create(client, name)
    r = client.get("/barn/v1/animal")
    assert r.status == 200, r
    assert name in r.json()["animals"]


def test_get_missing_is_404_with_error_body(stack, client):
    name = unique("Missing")
    r = client.get("/barn/v1/animal/" + name)
    body = check_error(r, 404, "get", 'NOT_FOUND [404]: animal "%s" not found' % name,
                       "/barn/v1/animal/" + name, exact=True)
    assert body["uri"] == "%s/barn/v1/animal/%s" % (stack.base, name)
    assert body["messages"] == ['NOT_FOUND [404]: animal "%s" not found' % name]


@pytest.mark.parametrize("path, message", [
    ("/barn/v1/animal/.secret", 'invalid animal name ".secret": it may not start with a dot'),
    ("/barn/v1/animal/..%2F..%2Fetc%2Fpasswd", 'invalid animal name "../../etc/passwd"'),
])
def test_worker_error_code_reaches_client(client, path, message):
    # The worker (not the gateway) refuses these names: its code and error
    # body come back as they are.
    r = client.get(path)
    check_error(r, 400, "get", "BAD_REQUEST [400]: " + message)


def test_head(client):
    name = unique("Head")
    create(client, name)
    get = client.get("/barn/v1/animal/" + name)
    head = client.request("HEAD", "/barn/v1/animal/" + name)
    assert head.status == 200
    assert head.body == b""
    assert head.headers["Content-Type"].startswith("application/json")
    if head.headers.get("Content-Length") is not None:
        assert int(head.headers["Content-Length"]) == len(get.body)
    missing = client.request("HEAD", "/barn/v1/animal/" + unique("NoHead"))
    assert missing.status == 404
    assert missing.body == b""


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
    check_error(r, 504, "get", "GATEWAY_TIMEOUT [504]", "/silo/v1/grain/wheat")


# ---- request errors (400, 413) -----------------------------------------------

def assert_nothing_created(client, name):
    assert list_statuses(client, uri=name) == []


@pytest.mark.parametrize("body, message", [
    ({}, 'non-optional property "name" is missing'),
    ({"name": "X", "wings": 2}, 'invalid property "wings": schema does not allow for this property'),
    ({"name": 5}, 'schema does not allow for type "integer"'),
    ({"name": "X", "legs": "four"}, 'schema does not allow for type "string"'),
    ([1, 2], 'schema does not allow for type "array"'),
])
def test_schema_violation_is_400(client, body, message):
    name = unique("Bad")
    r = client.put("/barn/v1/animal/" + name, body)
    check_error(r, 400, "create", "BAD_REQUEST [400]: ", "/barn/v1/animal/" + name)
    assert message in r.json()["messages"][0], r
    assert_nothing_created(client, name)


def test_body_where_schema_wants_none_is_400(client):
    name = unique("Bodied")
    r = client.request("DELETE", "/barn/v1/animal/" + name, {"x": 1})
    check_error(r, 400, "delete", 'schema does not allow for type "object"')
    assert_nothing_created(client, name)


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
