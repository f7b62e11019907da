#!/usr/bin/env python3
"""A scenario driven by the Docker SDK for Python (docker-py) against the
daemon at $DOCKER_HOST, with the busybox image $IMAGE already present.

Run by crates/testkit/tests/engine_sdk.rs against a private dockerd (to
prove the expectations) and against `wharf daemon`, one part at a time
(the parts named on the command line; every part when none is). Each step prints its
name; the first failing assertion ends the script with a traceback and a
non-zero status. The last line printed on success is `sdk scenario ok`.
"""

import faulthandler
import io
import os
import socket
import sys
import tarfile
import time

import docker
from docker.utils import socket as dsock

HOST = os.environ["DOCKER_HOST"]
IMG = os.environ["IMAGE"]


def step(name):
    print(f"step: {name}", flush=True)


def read_frames(sock):
    """All (stream, bytes) frames of a multiplexed attach socket, to EOF."""
    out = {1: b"", 2: b""}
    for stream, data in dsock.frames_iter(sock, tty=False):
        out[stream] = out.get(stream, b"") + data
    return out


def raw_socket(sock):
    """The socket under what attach_socket/exec_start(socket=True) return."""
    return getattr(sock, "_sock", sock)


def expect(exc, fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except exc as e:
        return e
    raise AssertionError(f"{fn.__name__}{args} did not raise {exc.__name__}")


def system(client):
    step("ping, version, info")
    assert client.ping() is True
    v = client.version()
    assert v["Os"] == "linux", v
    assert v["ApiVersion"].startswith("1."), v
    info = client.info()
    assert info["OSType"] == "linux", info
    df = client.df()
    assert "Images" in df and "Containers" in df and "Volumes" in df, df


def images(client):
    step("images get/list/tag/remove")
    im = client.images.get(IMG)
    assert IMG in im.tags, im.tags
    assert im.id.startswith("sha256:")
    assert im.tag("sdk/tagged", "v1") is True
    assert "sdk/tagged:v1" in client.images.get("sdk/tagged:v1").tags
    listed = [t for i in client.images.list() for t in i.tags]
    assert "sdk/tagged:v1" in listed and IMG in listed, listed
    assert [i.id for i in client.images.list(name="sdk/tagged")] == [im.id]
    client.images.remove("sdk/tagged:v1")
    expect(docker.errors.ImageNotFound, client.images.get, "sdk/tagged:v1")
    hist = im.history()
    assert len(hist) >= 1 and "CreatedBy" in hist[0], hist


def containers(client):
    step("containers.run foreground")
    out = client.containers.run(IMG, ["sh", "-c", "echo hello; echo err >&2"], remove=True)
    assert out == b"hello\n", out
    both = client.containers.run(
        IMG, ["sh", "-c", "echo err >&2"], remove=True, stdout=False, stderr=True
    )
    assert both == b"err\n", both
    err = expect(docker.errors.ContainerError, client.containers.run, IMG,
                 ["sh", "-c", "echo bad >&2; exit 3"], remove=True)
    assert err.exit_status == 3, err
    assert b"bad" in (err.stderr or b""), err.stderr

    step("containers.run detached, exec_run")
    c = client.containers.run(
        IMG, ["sleep", "1000"], detach=True, name="sdk1",
        environment={"A": "1"}, labels={"team": "sdk"}, working_dir="/tmp",
    )
    c.reload()
    assert c.status == "running", c.status
    assert c.name == "sdk1"
    assert c.labels == {"team": "sdk"}, c.labels
    assert c.attrs["Config"]["WorkingDir"] == "/tmp"
    r = c.exec_run(["sh", "-c", "echo $A; pwd; exit 4"])
    assert r.exit_code == 4 and r.output == b"1\n/tmp\n", r
    r = c.exec_run(["sh", "-c", "echo o; echo e >&2"], demux=True)
    assert r.output == (b"o\n", b"e\n"), r
    r = c.exec_run(["id", "-u"], user="nobody", environment={"X": "y"})
    assert r.output == b"65534\n", r
    chunks = b"".join(c.exec_run(["sh", "-c", "echo 1; echo 2"], stream=True).output)
    assert chunks == b"1\n2\n", chunks
    assert [x.id for x in client.containers.list(filters={"label": "team=sdk"})] == [c.id]
    assert client.containers.get("sdk1").id == c.id
    top = c.top()
    assert any("sleep" in " ".join(p) for p in top["Processes"]), top
    stats = c.stats(stream=False)
    assert "memory_stats" in stats and "cpu_stats" in stats, stats.keys()
    c.rename("sdk1b")
    c.reload()
    assert c.name == "sdk1b"
    c.stop(timeout=1)
    c.reload()
    assert c.status == "exited" and c.attrs["State"]["ExitCode"] == 137, c.attrs["State"]
    c.start()
    c.reload()
    assert c.status == "running"
    c.kill()
    assert c.wait()["StatusCode"] == 137
    c.remove()
    expect(docker.errors.NotFound, client.containers.get, "sdk1b")

    step("containers.create/start/wait/logs/remove")
    c2 = client.containers.create(IMG, ["sh", "-c", "echo logged; echo e2 >&2; exit 2"], name="sdk2")
    assert c2.status == "created"
    c2.start()
    assert c2.wait()["StatusCode"] == 2
    assert c2.logs(stdout=True, stderr=False) == b"logged\n"
    assert c2.logs(stdout=False, stderr=True) == b"e2\n"
    stamp, line = c2.logs(stderr=False, timestamps=True).split(b" ", 1)
    assert line == b"logged\n" and stamp.endswith(b"Z"), stamp
    # tail counts lines of both streams before the stream filter.
    assert c2.logs(tail=2, stderr=False) == b"logged\n"
    assert client.containers.list(all=True, filters={"exited": "2"})[0].id == c2.id
    conflict = expect(docker.errors.APIError, client.containers.create, IMG, name="sdk2")
    assert conflict.status_code == 409, conflict
    c2.remove(v=True)
    expect(docker.errors.NotFound, c2.reload)

    step("prune")
    client.containers.create(IMG, ["true"], name="sdkprune")
    pruned = client.containers.prune()
    assert len(pruned["ContainersDeleted"] or []) == 1, pruned


def volumes(client):
    step("volumes")
    vol = client.volumes.create("sdkvol", labels={"x": "y"})
    assert vol.name == "sdkvol" and vol.attrs["Labels"] == {"x": "y"}, vol.attrs
    assert "sdkvol" in [v.name for v in client.volumes.list()]
    assert client.volumes.get("sdkvol").attrs["Driver"] == "local"
    client.containers.run(IMG, ["sh", "-c", "echo v > /v/f"],
                          volumes={"sdkvol": {"bind": "/v", "mode": "rw"}}, remove=True)
    out = client.containers.run(IMG, ["cat", "/v/f"], volumes=["sdkvol:/v:ro"], remove=True)
    assert out == b"v\n", out
    vol.remove()
    expect(docker.errors.NotFound, client.volumes.get, "sdkvol")


def events(client):
    step("events")
    t0 = int(time.time()) - 1
    c = client.containers.run(IMG, ["true"], name="sdkev", detach=True)
    c.wait()
    c.remove()
    evs = client.events(since=t0, until=int(time.time()) + 1, decode=True,
                        filters={"container": "sdkev"})
    actions = [e["Action"] for e in evs if e.get("Type") == "container"]
    for a in ("create", "start", "die", "destroy"):
        assert a in actions, actions
    assert actions.index("create") < actions.index("start") < actions.index("destroy")


def low_level(client):
    api = client.api
    step("APIClient attach socket with stdin")
    cid = api.create_container(
        IMG, ["sh", "-c", "read line; echo got $line; echo err >&2"],
        stdin_open=True,  # docker-py sets StdinOnce with it
    )["Id"]
    sock = api.attach_socket(cid, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
    api.start(cid)
    raw = raw_socket(sock)
    raw.sendall(b"ping\n")
    raw.shutdown(socket.SHUT_WR)
    got = read_frames(sock)
    assert got[1] == b"got ping\n" and got[2] == b"err\n", got
    assert api.wait(cid)["StatusCode"] == 0
    api.remove_container(cid)

    step("APIClient attach stream, and logs replayed by attach")
    cid = api.create_container(IMG, ["sh", "-c", "echo one; echo two >&2"])["Id"]
    stream = api.attach(cid, stream=True, stdout=True, stderr=True, demux=True)
    api.start(cid)
    got = {1: b"", 2: b""}
    for out, err in stream:
        got[1] += out or b""
        got[2] += err or b""
    assert got == {1: b"one\n", 2: b"two\n"}, got
    assert api.wait(cid)["StatusCode"] == 0
    # (attach with logs=1 to an exited container is checked with curl in
    # engine_api: docker-py reads such a short reply racily.)
    assert api.logs(cid, stdout=True, stderr=False) == b"one\n"
    api.remove_container(cid)

    step("APIClient exec streams")
    cid = api.create_container(IMG, ["sleep", "1000"])["Id"]
    api.start(cid)
    e = api.exec_create(cid, ["sh", "-c", "echo a; echo b >&2; exit 7"])
    assert api.exec_start(e, demux=True) == (b"a\n", b"b\n")
    ins = api.exec_inspect(e)
    assert ins["ExitCode"] == 7 and ins["Running"] is False, ins
    e = api.exec_create(cid, ["cat"], stdin=True)
    sock = api.exec_start(e, socket=True)
    raw = raw_socket(sock)
    raw.sendall(b"through exec\n")
    raw.shutdown(socket.SHUT_WR)
    got = read_frames(sock)
    assert got[1] == b"through exec\n", got
    e = api.exec_create(cid, ["sh", "-c", "for i in 1 2 3; do echo $i; done"])
    assert b"".join(api.exec_start(e, stream=True)) == b"1\n2\n3\n"
    e = api.exec_create(cid, ["sh", "-c", "echo tty"], tty=True)
    assert api.exec_start(e, tty=True) == b"tty\r\n"
    api.remove_container(cid, force=True)


def archives_and_build(client):
    step("put_archive/get_archive, export, build, save/load")
    c = client.containers.run(IMG, ["sleep", "1000"], detach=True, name="sdkarc")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        data = b"through the sdk\n"
        info = tarfile.TarInfo("sdkfile")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    assert c.put_archive("/tmp", buf.getvalue()) is True
    assert c.exec_run(["cat", "/tmp/sdkfile"]).output == b"through the sdk\n"
    stream, stat = c.get_archive("/tmp/sdkfile")
    assert stat["name"] == "sdkfile" and stat["size"] == 16, stat
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as t:
        assert t.extractfile("sdkfile").read() == b"through the sdk\n"
    exported = b"".join(c.export())
    with tarfile.open(fileobj=io.BytesIO(exported)) as t:
        assert "tmp/sdkfile" in t.getnames()
    c.remove(force=True)

    dockerfile = f"FROM {IMG}\nRUN echo built > /b\nCMD [\"cat\", \"/b\"]\n".encode()
    image, logs = client.images.build(fileobj=io.BytesIO(dockerfile), tag="sdk/built:1", rm=True)
    assert "sdk/built:1" in image.tags, image.tags
    assert any("stream" in chunk for chunk in logs)
    assert client.containers.run("sdk/built:1", remove=True) == b"built\n"
    saved = b"".join(image.save(named=True))
    client.images.remove("sdk/built:1")
    loaded = client.images.load(saved)
    assert [i.id for i in loaded] == [image.id], loaded
    assert client.containers.run("sdk/built:1", remove=True) == b"built\n"
    client.images.remove("sdk/built:1")


PARTS = {
    "system": system,
    "images": images,
    "containers": containers,
    "volumes": volumes,
    "events": events,
    "archives_and_build": archives_and_build,
    "low_level": low_level,
}


def main():
    # A hang guard: after HANG_GUARD seconds print every thread's stack
    # and exit.
    faulthandler.dump_traceback_later(int(os.environ.get("HANG_GUARD", "240")), exit=True)
    client = docker.DockerClient(base_url=HOST, version="auto", timeout=120)
    for name in sys.argv[1:] or list(PARTS):
        PARTS[name](client)
    client.close()
    print("sdk scenario ok", flush=True)


if __name__ == "__main__":
    sys.exit(main())
