# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""The barn's HTTP scenario against each barn of the shared stack.

The C barn (/barn, component "barn") and the same barn written in Python,
Perl and PHP (/python/barn, /perl/barn, /php/barn) must behave exactly
alike: every test runs against each of them and expects the same codes,
messages and bodies; only the prefix and the component name differ.
"""

import re

import pytest

from conftest import ALL_BARNS, CROCKFORD, STATUS_ID, check_error, unique, wait_for


@pytest.fixture(params=ALL_BARNS, ids=[component for _, component in ALL_BARNS])
def barn(request, stack):
    """(prefix, component) of one barn of the shared stack."""
    return request.param


def animals(barn):
    return barn[0] + "/v1/animal"


def animal(barn, name):
    return "%s/v1/animal/%s" % (barn[0], name)


def list_statuses(client, barn, **filters):
    matrix = "".join(";%s=%s" % (k, v) for k, v in filters.items())
    r = client.get(barn[0] + "/v1/status" + matrix)
    assert r.status == 200, r
    body = r.json()
    assert set(body) == {"statuses"}, body
    return body["statuses"]


def create(client, barn, name, body=None, method="PUT"):
    """Creates an animal and waits for its job to succeed; returns the final status."""
    s = client.accepted(method, animal(barn, name), body or {"name": name})
    done = client.wait_completed(s["status_uri"])
    assert done["code"] == 0, done
    return done


# ---- async: PUT, POST, DELETE ---------------------------------------------

def test_put_accepted_then_completed(stack, client, barn):
    prefix, component = barn
    name = unique("Wilbur")
    r = client.put(animal(barn, name), {"name": name, "sound": "oink"})
    assert r.status == 202, r
    s = r.json()
    # The 202 carries the new status: pending, nothing done yet.
    assert s["state"] == "PENDING"
    assert s["progress"] == 0
    assert s["operation"] == "create"
    assert s["component"] == component
    assert s["uri"] == stack.base + animal(barn, name)
    assert re.fullmatch(re.escape(stack.base + prefix + "/v1/status/") + STATUS_ID.pattern, s["status_uri"]), s
    assert "code" not in s
    assert r.headers["Location"] == s["status_uri"]
    assert int(r.headers["Retry-After"]) >= 1

    done = client.wait_completed(s["status_uri"])
    assert done["code"] == 0, done
    assert done["progress"] == 100
    assert done["status_uri"] == s["status_uri"]
    assert done["component"] == component
    assert done["messages"] == ['animal "%s" created' % name,
                                "%s is happily rolling around in the mud!" % name], done
    assert done["concurrency"] == 0
    assert done["ctime"] <= done["mtime"]

    got = client.get(animal(barn, name))
    assert got.status == 200, got
    assert got.json() == {"name": name, "sound": "oink"}
    assert got.headers["Content-Type"].startswith("application/json")


def test_put_replaces(client, barn):
    name = unique("Goose")
    create(client, barn, name, {"name": name, "legs": 2})
    done = create(client, barn, name, {"name": name, "sound": "honk"})
    assert done["messages"] == ['animal "%s" replaced' % name,
                                "%s is happily rolling around in the mud!" % name], done
    assert client.get(animal(barn, name)).json() == {"name": name, "sound": "honk"}


def test_post_without_name_generates_one(stack, client, barn):
    r = client.post(animals(barn), {"name": "Charlotte's cousin"})
    assert r.status == 202, r
    s = r.json()
    assert s["operation"] == "create"
    m = re.fullmatch(re.escape(stack.base + animals(barn) + "/") + "(a-[%s]{26})" % CROCKFORD, s["uri"])
    assert m, s
    generated = m.group(1)
    done = client.wait_completed(s["status_uri"])
    assert done["code"] == 0, done
    assert done["messages"] == ['animal "%s" created' % generated,
                                "Charlotte's cousin is happily rolling around in the mud!"], done
    got = client.get(s["uri"])
    assert got.status == 200, got
    assert got.json() == {"name": "Charlotte's cousin", "species": "Sus domestica"}
    # Two creations, two names.
    other = client.accepted("POST", animals(barn), {"name": "Another"})
    assert other["uri"] != s["uri"]
    assert client.wait_completed(other["status_uri"])["code"] == 0


def test_post_with_name_updates(client, barn):
    name = unique("Templeton")
    create(client, barn, name, {"name": name, "species": "Rattus norvegicus"})
    s = client.accepted("POST", animal(barn, name), {"sound": "squeak"})
    assert s["operation"] == "update"
    done = client.wait_completed(s["status_uri"])
    assert done["code"] == 0, done
    assert done["messages"] == ['animal "%s" updated' % name,
                                "%s is happily rolling around in the mud!" % name], done
    assert client.get(animal(barn, name)).json() == \
        {"name": name, "species": "Rattus norvegicus", "sound": "squeak"}


def test_post_update_of_missing_animal_fails_in_status(client, barn):
    name = unique("Ghost")
    s = client.accepted("POST", animal(barn, name), {"sound": "boo"})
    done = client.wait_completed(s["status_uri"])
    assert done["state"] == "COMPLETED"
    assert done["code"] == 404
    assert done["progress"] == 100
    assert done["messages"] == ['NOT_FOUND [404]: animal "%s" not found' % name], done
    assert client.get(animal(barn, name)).status == 404


def test_delete(client, barn):
    name = unique("Gussy")
    create(client, barn, name)
    s = client.accepted("DELETE", animal(barn, name))
    assert s["operation"] == "delete"
    assert s["state"] == "PENDING"
    done = client.wait_completed(s["status_uri"])
    assert done["code"] == 0, done
    assert done["messages"] == ['animal "%s" deleted' % name], done
    assert client.get(animal(barn, name)).status == 404


def test_delete_missing_fails_but_status_reads_200(client, barn):
    name = unique("Nobody")
    s = client.accepted("DELETE", animal(barn, name))
    done = client.wait_completed(s["status_uri"])
    # A failed job is a COMPLETED status with a non-zero code, still 200 to read.
    assert done["state"] == "COMPLETED"
    assert done["code"] == 404
    assert done["messages"] == ['NOT_FOUND [404]: animal "%s" not found' % name]


def test_spider_reports_progress(client):
    """A spider spins its web (barn.web_seconds, 4 s) in every barn at once:
    progress 10, then 50, then done, with the same messages everywhere."""
    started = {}
    for barn in ALL_BARNS:
        name = unique("Charlotte")
        s = client.accepted("PUT", animal(barn, name),
                            {"name": name, "species": "Araneus cavaticus", "legs": 8})
        started[barn] = (name, s["status_uri"])
    words = ["SOME PIG", "TERRIFIC", "RADIANT", "HUMBLE"]
    # All four spin at once: poll them together, noting any progress seen
    # while RUNNING (the web takes 4 s, half of it at 10 %, half at 50 %).
    seen = {barn: set() for barn in started}
    done = {}

    def all_finished():
        for barn, (name, status_uri) in started.items():
            if barn in done:
                continue
            s = client.status(status_uri)
            if s["state"] == "RUNNING":
                seen[barn].add(s["progress"])
            elif s["state"] == "COMPLETED":
                done[barn] = s
        return len(done) == len(started)

    wait_for(all_finished, "every spider to finish")
    for barn, (name, _) in started.items():
        final = done[barn]
        assert final["code"] == 0, (barn, final)
        assert final["progress"] == 100, (barn, final)
        # Only the steps a spider reports, if any was caught (no timing is assumed).
        assert seen[barn] <= {0, 10, 50}, (barn, seen[barn])
        assert len(final["messages"]) == 4, (barn, final)
        assert final["messages"][:3] == ['animal "%s" created' % name,
                                         "%s is beginning to spin a web." % name,
                                         "%s is still spinning..." % name], (barn, final)
        assert final["messages"][3] in ["%s's web is complete! It says: '%s'" % (name, w) for w in words], \
            (barn, final)


# ---- sync: GET, HEAD ---------------------------------------------------------

def test_get_collection(client, barn):
    name = unique("Fern")
    create(client, barn, name)
    r = client.get(animals(barn))
    assert r.status == 200, r
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"animals"}, body
    assert name in body["animals"]


def test_get_missing_is_404_with_error_body(stack, client, barn):
    name = unique("Missing")
    r = client.get(animal(barn, name))
    body = check_error(r, 404, "get", 'NOT_FOUND [404]: animal "%s" not found' % name,
                       animal(barn, name), exact=True)
    assert body["uri"] == stack.base + animal(barn, name)
    assert body["messages"] == ['NOT_FOUND [404]: animal "%s" not found' % name]


@pytest.mark.parametrize("name, message", [
    (".secret", 'invalid animal name ".secret": it may not start with a dot'),
    ("a%20b", 'invalid animal name "a b"'),
])
def test_worker_error_code_reaches_client(client, barn, name, message):
    # The worker (not the gateway) refuses these names: its code and error
    # body come back as they are.
    r = client.get(animal(barn, name))
    check_error(r, 400, "get", "BAD_REQUEST [400]: " + message)


def test_gateway_refuses_path_traversal(client, barn):
    # A name that could leave a directory never reaches the worker
    # (tests/security has the whole corpus).
    r = client.get(animal(barn, "..%2F..%2Fetc%2Fpasswd"))
    check_error(r, 400, "get", 'BAD_REQUEST [400]: invalid resource name "../../etc/passwd"')


def test_head(client, barn):
    name = unique("Head")
    create(client, barn, name)
    get = client.get(animal(barn, name))
    head = client.request("HEAD", animal(barn, name))
    assert head.status == 200
    assert head.body == b""
    assert head.headers["Content-Type"].startswith("application/json")
    if head.headers.get("Content-Length") is not None:
        assert int(head.headers["Content-Length"]) == len(get.body)
    missing = client.request("HEAD", animal(barn, unique("NoHead")))
    assert missing.status == 404
    assert missing.body == b""


# ---- schema validation (the barn's schemas under each component's name) -----

@pytest.mark.parametrize("body, message", [
    ({}, 'non-optional property "name" is missing'),
    ({"name": "X", "wings": 2}, 'invalid property "wings": schema does not allow for this property'),
    ({"name": 5}, 'schema does not allow for type "integer"'),
    ({"name": "X", "legs": "four"}, 'schema does not allow for type "string"'),
    ([1, 2], 'schema does not allow for type "array"'),
])
def test_schema_violation_is_400(client, barn, body, message):
    name = unique("Bad")
    r = client.put(animal(barn, name), body)
    check_error(r, 400, "create", "BAD_REQUEST [400]: ", animal(barn, name))
    assert message in r.json()["messages"][0], r
    assert list_statuses(client, barn, uri=name) == []


def test_body_where_schema_wants_none_is_400(client, barn):
    name = unique("Bodied")
    r = client.request("DELETE", animal(barn, name), {"x": 1})
    check_error(r, 400, "delete", 'schema does not allow for type "object"')
    assert list_statuses(client, barn, uri=name) == []
