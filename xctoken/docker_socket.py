"""Ask the Docker daemon which image this container runs (the container action only).

The container action's launcher for later steps runs the same image again, by
ID. The runner passes no image name into the container, but it mounts the
daemon's socket (actions/runner ContainerActionHandler), and the daemon knows.
This is the one place xctoken opens a socket: a Unix socket on this machine,
never the network.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket

DOCKER_SOCKET = "/var/run/docker.sock"
_CONTAINER_ID_IN_MOUNTS = re.compile(r"/containers/([0-9a-f]{64})/")


def own_container_id() -> str | None:
    """This container's ID: Docker bind-mounts /etc/hostname from /var/lib/docker/containers/<id>/."""
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as handle:
            match = _CONTAINER_ID_IN_MOUNTS.search(handle.read(1 << 20))
    except OSError:
        return None
    return match.group(1) if match else None


def own_image_id(socket_path: str = DOCKER_SOCKET) -> str | None:
    """The ID of the image this container runs, asked of the Docker daemon the runner mounts in.

    The runner passes no image name to the container; the daemon knows it.
    Local IPC over the socket, not the network.
    """
    container = own_container_id()
    if container is None or not os.path.exists(socket_path):
        return None

    class UnixConnection(http.client.HTTPConnection):
        def connect(self) -> None:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(10)
            self.sock.connect(socket_path)

    connection = UnixConnection("docker")
    try:
        connection.request("GET", f"/containers/{container}/json")
        response = connection.getresponse()
        body = response.read(4 << 20)
        if response.status != 200:
            return None
        image = json.loads(body).get("Image")
    except (OSError, ValueError, http.client.HTTPException):
        return None
    finally:
        connection.close()
    return image if isinstance(image, str) and re.fullmatch(r"sha256:[0-9a-f]{64}", image) else None
