"""A local stand-in for a WeCom group robot (群机器人) webhook: it keeps every message it is sent."""

from __future__ import annotations

import threading
from typing import Any

from leadloop.demo.simulators.base import Request, Response, SimulatorBase, json_response

ROBOT_PATH = "/cgi-bin/webhook/send"
DEMO_ROBOT_KEY = "leadloop-demo-robot"


class WecomRobotReceiver(SimulatorBase):
    """Accepts `POST /cgi-bin/webhook/send?key=…` with a text or markdown message, like WeCom does."""

    def __init__(self, key: str = DEMO_ROBOT_KEY, port: int = 0) -> None:
        super().__init__(port=port)
        self.key = key
        self.messages: list[dict[str, Any]] = []
        self._received = threading.Condition()
        self.add_route("POST", ROBOT_PATH, self._send)

    @property
    def webhook_url(self) -> str:
        """The URL to configure as leadloop's alert webhook."""
        return f"{self.base_url}{ROBOT_PATH}?key={self.key}"

    def texts(self) -> list[str]:
        """The content of every message received, in order."""
        return [m.get(m.get("msgtype", ""), {}).get("content", "") for m in self.messages]

    def _send(self, request: Request) -> Response:
        if request.query.get("key") != self.key:
            return json_response({"errcode": 93000, "errmsg": "invalid webhook url"})
        message = request.json()
        kind = message.get("msgtype")
        if kind not in ("text", "markdown") or not message.get(kind, {}).get("content"):
            return json_response({"errcode": 40008, "errmsg": "invalid message type"})
        with self._received:
            self.messages.append(message)
            self._received.notify_all()
        return json_response({"errcode": 0, "errmsg": "ok"})
