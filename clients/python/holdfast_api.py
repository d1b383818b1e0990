"""A tiny client for the Holdfast server API and a checker for its webhook signatures (standard library only).

    api = HoldfastAPI("http://127.0.0.1:4002", "backend-secret")
    api.publish("room:lobby", "new_msg", {"body": "your order shipped"})   # -> {"id": 42}
    api.presence("room:lobby"); api.history("room:lobby", since_id=40)
    api.disconnect("mallory", reason="banned", refuse_older_tokens=True)

Errors raise HoldfastAPIError with the HTTP status and the server's {"error": {"code", "message"}}.
"""

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.parse
import urllib.request


class HoldfastAPIError(Exception):
    def __init__(self, status, code, message, retry_after=None):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.retry_after = status, code, message, retry_after


class HoldfastAPI:
    def __init__(self, base_url, key, timeout=10.0):
        self.base_url = base_url.rstrip("/")
        self.key = key
        self.timeout = timeout

    def request(self, method, path, body=None, params=None):
        url = self.base_url + path
        if params:
            url += "?" + urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        data = body if isinstance(body, bytes) else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(url, data=data, method=method, headers={
            "Authorization": f"Bearer {self.key}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                detail = json.loads(raw)["error"]
            except (ValueError, KeyError, TypeError):
                detail = {"code": "http_error", "message": raw.decode(errors="replace")}
            raise HoldfastAPIError(error.code, detail.get("code"), detail.get("message"),
                                   error.headers.get("Retry-After")) from None

    def publish(self, topic, event, payload, as_user=None):
        return self.request("POST", "/api/publish", {"topic": topic, "event": event, "payload": payload,
                                                     "as_user": as_user})

    def broadcast(self, topics, event, payload, as_user=None):
        return self.request("POST", "/api/broadcast", {"topics": topics, "event": event, "payload": payload,
                                                       "as_user": as_user})

    def presence(self, topic):
        return self.request("GET", "/api/presence", params={"topic": topic})

    def presence_stats(self, topic):
        return self.request("GET", "/api/presence_stats", params={"topic": topic})

    def history(self, topic, since_id=None, limit=None):
        return self.request("GET", "/api/history", params={"topic": topic, "since_id": since_id, "limit": limit})

    def disconnect(self, user, reason=None, code=None, refuse_older_tokens=False):
        body = {"user": user, "refuse_older_tokens": refuse_older_tokens}
        if reason is not None:
            body["reason"] = reason
        if code is not None:
            body["code"] = code
        return self.request("POST", "/api/disconnect", body)

    def rooms(self, after=None, limit=None):
        return self.request("GET", "/api/rooms", params={"after": after, "limit": limit})


def verify_signature(secret, body, header, tolerance_seconds=300, now=None):
    """True when `header` (X-Holdfast-Signature: t=<unix>,v1=<hex>) signs `body` (bytes) with `secret` and its
    timestamp is within `tolerance_seconds` of now."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError, AttributeError):
        return False
    secret = secret.encode() if isinstance(secret, str) else secret
    expected = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    fresh = abs((now if now is not None else time.time()) - timestamp) <= tolerance_seconds
    return fresh and hmac.compare_digest(expected, parts.get("v1", ""))
