import http.server
import json
import re
import threading
import unittest
import urllib.error

from addon_modules import load

api = load("api")
submission = load("submission")
project = load("project")

HINT = "Edit > Preferences > Add-ons > Brender"


class Urls(unittest.TestCase):
    def test_server_urls_are_normalized(self):
        self.assertEqual(api.normalize_server(" http://farm.local:4600/ "), "http://farm.local:4600")
        self.assertEqual(api.normalize_server("127.0.0.1:4600"), "http://127.0.0.1:4600")
        self.assertEqual(api.normalize_server("https://studio/brender/"), "https://studio/brender")
        for bad, expected in [("", "The server URL is empty"), ("ftp://x", r"is not an http\(s\) address"), ("http://x:port", "has a bad port"), ("127.0.0.1:", "has a bad port")]:
            with self.subTest(bad=bad), self.assertRaisesRegex(api.BrenderError, expected):
                api.normalize_server(bad)

    def test_api_and_page_urls(self):
        self.assertEqual(api.api_url("http://h:1/", "renders/r-1"), "http://h:1/api/renders/r-1")
        self.assertEqual(api.api_url("http://h:1", "/api/renders/r-1/outputs/frames/f.png"), "http://h:1/api/renders/r-1/outputs/frames/f.png")
        self.assertEqual(api.api_url("http://h:1", "events", {"render": "r 1"}), "http://h:1/api/events?render=r+1")
        self.assertEqual(api.render_page_url("http://h:1/", "r-1"), "http://h:1/#/renders/r-1")
        self.assertEqual(api.render_page_url("http://h:1", "r-1", "t/k"), "http://h:1/?token=t%2Fk#/renders/r-1")
        self.assertTrue(api.is_loopback("http://127.0.0.2:4600"))
        self.assertTrue(api.is_loopback("localhost:4600"))
        self.assertFalse(api.is_loopback("http://farm.studio:4600"))


class Wording(unittest.TestCase):
    def test_connection_failures(self):
        refused = urllib.error.URLError(ConnectionRefusedError(111, "Connection refused"))
        self.assertEqual(api.describe_failure("http://h:1", refused),
                         "No Brender server is running at http://h:1: start one with `brender serve` on that machine, or fix the server URL in %s." % HINT)
        self.assertIn("did not answer in time", api.describe_failure("http://h:1", urllib.error.URLError(TimeoutError())))
        self.assertIn("host in http://h:1 is unknown", api.describe_failure("http://h:1", urllib.error.URLError(__import__("socket").gaierror(-2, "x"))))


class FakeServer:
    """A stand-in for `brender serve` answering from a table: (method, path) -> (status, JSON)."""

    def __init__(self, routes):
        self.seen = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                outer.seen.append((self.command, self.path, self.headers.get("Authorization"), body))
                status, payload = routes.get((self.command, self.path), (404, {"error": "No route %s %s; GET /api/openapi.json lists them." % (self.command, self.path)}))
                if callable(payload):
                    status, payload = payload(body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _answer

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


OPENAPI = (200, {"info": {"title": "Brender", "version": "1"}})
# A server that keeps no blobs yet: every hash asked about is missing.
MISSING_ALL = (0, lambda body: (200, {"missing": json.loads(body)["hashes"]}))
FARMS = (200, {"local": {"cores": 2}, "aws": [{"farm": "studio", "region": "eu-west-1", "queues": ["spot-cpu", "spot-gpu"]}]})


class Layout:
    def __init__(self, entries, blend):
        self.entries, self.blend = entries, blend


class AgainstAServer(unittest.TestCase):
    def serve(self, routes):
        server = FakeServer(routes)
        self.addCleanup(server.close)
        return server

    def test_version_mismatch_and_not_brender(self):
        server = self.serve({("GET", "/api/openapi.json"): (200, {"info": {"title": "Brender", "version": "2"}})})
        with self.assertRaises(api.BrenderError) as raised:
            api.Client(server.url).check()
        self.assertEqual(str(raised.exception), "The server at %s speaks API version 2; this add-on needs API version 1: use the same Brender version for both (`brender addon --out DIR` writes the matching add-on)." % server.url)
        other = self.serve({("GET", "/api/openapi.json"): (200, {"info": {"title": "Pets"}})})
        with self.assertRaisesRegex(api.BrenderError, "is not a Brender server"):
            api.Client(other.url).check()
        old = self.serve({})
        with self.assertRaisesRegex(api.BrenderError, "speaks an older API"):
            api.Client(old.url).check()

    def test_token_words_and_header(self):
        server = self.serve({("GET", "/api/openapi.json"): (401, {"error": "wrong token"})})
        with self.assertRaisesRegex(api.BrenderError, "refused the token: copy the one `brender serve` printed"):
            api.Client(server.url, "secret").check()
        with self.assertRaisesRegex(api.BrenderError, "needs a token: paste the one"):
            api.Client(server.url).check()
        self.assertEqual(server.seen[0][2], "Bearer secret")
        self.assertIsNone(server.seen[1][2])

    def test_submit_lists_every_file_by_path_and_sha256_sends_the_missing_blobs_then_submits_by_upload_id(self):
        import os
        import tempfile
        folder = tempfile.mkdtemp()
        blend = os.path.join(folder, "shot.blend")
        texture = os.path.join(folder, "wood.png")
        for path, data in [(blend, b"BLENDER-v304"), (texture, b"\x89PNG")]:
            with open(path, "wb") as handle:
                handle.write(data)
        server = self.serve({
            ("GET", "/api/openapi.json"): OPENAPI,
            ("GET", "/api/farms"): FARMS,
            ("POST", "/api/blobs/missing"): MISSING_ALL,
            ("POST", "/api/blobs/uploads"): (201, {"uploadId": "u-0123456789abcdef", "kind": "folder", "name": "p", "blendFiles": ["shots/shot.blend"]}),
            ("POST", "/api/renders"): (202, {"renderId": "r-1"}),
        })
        settings = submission.render_settings({"frames": "1-4", "split": "CHUNK", "chunk_size": 2, "attempts": 2, "priority": 5,
                                               "notify": "a@b.co", "samples": 16, "gpu": True, "farm": "studio", "queue": "spot-gpu", "project": "shot"})
        self.assertEqual(settings, {"frames": "1-4", "attempts": 2, "priority": 5, "chunkSize": 2, "notify": ["a@b.co"], "samples": 16,
                                    "gpu": True, "farm": "studio", "queue": "spot-gpu", "project": "shot"})
        sent = []
        answer = submission.submit(api.Client(server.url), Layout([("p/shots/shot.blend", blend), ("p/wood.png", texture)], "shots/shot.blend"), settings, on_bytes=sent.append)
        self.assertEqual(answer, {"renderId": "r-1"})
        blend_hash, texture_hash = project.file_sha256(blend), project.file_sha256(texture)
        self.assertEqual(json.loads(server.seen[2][3]), {"hashes": sorted([blend_hash, texture_hash])})
        upload = server.seen[3][3]
        self.assertEqual(sum(sent), len(upload))
        self.assertIn(json.dumps([{"path": "p/shots/shot.blend", "sha256": blend_hash}, {"path": "p/wood.png", "sha256": texture_hash}]).encode("utf-8"), upload)
        self.assertIn(('filename="%s"\r\nContent-Type: application/octet-stream\r\n\r\nBLENDER-v304\r\n' % blend_hash).encode("ascii"), upload)
        self.assertIn(('filename="%s"\r\nContent-Type: application/octet-stream\r\n\r\n\x89PNG\r\n' % texture_hash).encode("latin-1"), upload)
        self.assertEqual(json.loads(server.seen[4][3]), {"uploadId": "u-0123456789abcdef", "settings": dict(settings, blend="shots/shot.blend")})

    def test_only_the_blobs_the_server_lacks_are_sent(self):
        import os
        import tempfile
        folder = tempfile.mkdtemp()
        blend, texture = os.path.join(folder, "shot.blend"), os.path.join(folder, "big.png")
        with open(blend, "wb") as handle:
            handle.write(b"BLENDER-v304")
        with open(texture, "wb") as handle:
            handle.write(b"x" * 100000)
        known = project.file_sha256(texture)
        server = self.serve({("POST", "/api/blobs/missing"): (0, lambda body: (200, {"missing": [h for h in json.loads(body)["hashes"] if h != known]})),
                             ("POST", "/api/blobs/uploads"): (201, {"uploadId": "u-0123456789abcdef", "kind": "folder", "name": "p", "blendFiles": ["shot.blend"]})})
        sent = []
        files = [("p/shot.blend", blend), ("p/big.png", texture)]
        api.Client(server.url).upload_blobs(files, {path: project.file_sha256(path) for _, path in files}, sent.append)
        self.assertLess(sum(sent), 2000, "the 100 KB texture the server has is not sent")
        self.assertIn(b"BLENDER-v304", server.seen[1][3])

    def test_a_refused_submission_is_worded_and_a_gone_farm_uploads_nothing(self):
        server = self.serve({("GET", "/api/openapi.json"): OPENAPI, ("GET", "/api/farms"): FARMS,
                             ("POST", "/api/blobs/missing"): MISSING_ALL,
                             ("POST", "/api/blobs/uploads"): (400, {"error": "x.blend: not a .blend file (bad header); save it again."})})
        layout = Layout([("p/x.blend", __file__)], "x.blend")
        with self.assertRaisesRegex(api.BrenderError, r"^The server refused it: x\.blend: not a \.blend file \(bad header\); save it again\.$"):
            submission.submit(api.Client(server.url), layout, {"frames": "1", "farm": "local"})
        with self.assertRaisesRegex(api.BrenderError, 'no longer knows the farm "gone"'):
            submission.submit(api.Client(server.url), layout, {"frames": "1", "farm": "gone"})
        with self.assertRaisesRegex(api.BrenderError, 'The farm "studio" has no queue "on-demand-gpu" any more'):
            submission.submit(api.Client(server.url), layout, {"frames": "1", "farm": "studio", "queue": "on-demand-gpu"})
        self.assertEqual([seen[1] for seen in server.seen].count("/api/blobs/uploads"), 1)

    def test_a_notify_target_the_server_refuses_is_shown_in_its_words(self):
        refusal = "settings.notify names 2 e-mail addresses (a@b.co, c@d.co): give one, or a mailing list"
        server = self.serve({("GET", "/api/openapi.json"): OPENAPI, ("GET", "/api/farms"): FARMS,
                             ("POST", "/api/blobs/missing"): MISSING_ALL,
                             ("POST", "/api/blobs/uploads"): (201, {"uploadId": "u-0123456789abcdef", "kind": "folder", "name": "p", "blendFiles": ["x.blend"]}),
                             ("POST", "/api/renders"): (400, {"error": refusal, "field": "settings.notify"})})
        settings = submission.render_settings({"frames": "1", "farm": "local", "notify": "a@b.co, c@d.co"})
        self.assertEqual(settings["notify"], ["a@b.co", "c@d.co"])
        with self.assertRaisesRegex(api.BrenderError, "^The server refused it: %s$" % re.escape(refusal)):
            submission.submit(api.Client(server.url), Layout([("p/x.blend", __file__)], "x.blend"), settings)
        posted = [seen for seen in server.seen if seen[1] == "/api/renders"]
        self.assertEqual(json.loads(posted[0][3])["settings"]["notify"], ["a@b.co", "c@d.co"])

    def test_an_unchanged_project_is_submitted_again_without_uploading_unless_the_server_lost_the_upload(self):
        import os
        import tempfile
        folder = tempfile.mkdtemp()
        blend = os.path.join(folder, "shot.blend")
        with open(blend, "wb") as handle:
            handle.write(b"BLENDER-v304")
        known = {"u-0000000000000001"}
        counter = iter(range(2, 100))

        def uploaded(body):
            upload_id = "u-%016x" % next(counter)
            known.add(upload_id)
            return 201, {"uploadId": upload_id, "kind": "folder", "name": "p", "blendFiles": ["shot.blend"]}

        def submitted(body):
            upload_id = json.loads(body)["uploadId"]
            if upload_id not in known:
                return 400, {"error": 'uploadId: no upload "%s" on this server; upload the file again.' % upload_id, "field": "uploadId"}
            return 202, {"renderId": "r-" + upload_id}

        server = self.serve({("GET", "/api/openapi.json"): OPENAPI, ("GET", "/api/farms"): FARMS,
                             ("POST", "/api/blobs/missing"): MISSING_ALL,
                             ("POST", "/api/blobs/uploads"): (0, uploaded), ("POST", "/api/renders"): (0, submitted)})
        layout = Layout([("p/shot.blend", blend)], "shot.blend")
        uploads = {}
        client = api.Client(server.url)
        settings = {"frames": "1", "farm": "local"}
        first = submission.submit(client, layout, settings, uploads=uploads)
        second = submission.submit(client, layout, settings, uploads=uploads)
        self.assertEqual(first, second)
        self.assertEqual([seen[1] for seen in server.seen].count("/api/blobs/uploads"), 1)
        known.clear()  # the server lost it (cleaned up): uploaded again, and remembered
        third = submission.submit(client, layout, settings, uploads=uploads)
        self.assertEqual([seen[1] for seen in server.seen].count("/api/blobs/uploads"), 2)
        self.assertEqual(list(uploads.values()), [third["renderId"][2:]])
        with open(blend, "ab") as handle:
            handle.write(b"changed")
        submission.submit(client, layout, settings, uploads=uploads)
        self.assertEqual([seen[1] for seen in server.seen].count("/api/blobs/uploads"), 3)
        self.assertEqual(len(uploads), 2)

    def test_settings_words(self):
        base = {"frames": "1-3", "split": "CHILDREN", "array_size": 1, "attempts": 1, "priority": 0, "farm": "local"}
        self.assertEqual(submission.render_settings(base), {"frames": "1-3", "attempts": 1, "priority": 0, "farm": "local"})
        self.assertEqual(submission.render_settings(dict(base, array_size=3))["arraySize"], 3)
        self.assertEqual(submission.render_settings(dict(base, percentage=50, denoise="OFF", samples=0)),
                         dict(submission.render_settings(base), percentage=50, render={"cycles": {"denoising": {"enabled": False}}}))
        self.assertNotIn("render", submission.render_settings(dict(base, denoise="FILE")))
        slack = "https://hooks.slack.com/services/T0/B0/secret"
        self.assertEqual(submission.render_settings(dict(base, notify=" me@studio.com, %s\nhttp://127.0.0.1:8080/hook ;me@studio.com " % slack))["notify"],
                         ["me@studio.com", slack, "http://127.0.0.1:8080/hook"])
        self.assertNotIn("notify", submission.render_settings(dict(base, notify=" , ")))
        with self.assertRaisesRegex(api.BrenderError, r'^Notify: "me@" is neither an e-mail address nor a URL'):
            submission.render_settings(dict(base, notify="a@b.co me@"))
        with self.assertRaisesRegex(api.BrenderError, r'^Notify: http://hooks\.example\.com/… is plain http; webhooks must use https://') as raised:
            submission.render_settings(dict(base, notify="http://hooks.example.com/secret-token"))
        self.assertNotIn("secret-token", str(raised.exception))
        with self.assertRaisesRegex(api.BrenderError, r'^Notify: ftp://x\.com/… is not a web address'):
            submission.render_settings(dict(base, notify="ftp://x.com/a"))
        with self.assertRaisesRegex(api.BrenderError, r'^Frames: "a" is not a frame or range'):
            submission.render_settings(dict(base, frames="a"))


if __name__ == "__main__":
    unittest.main()
