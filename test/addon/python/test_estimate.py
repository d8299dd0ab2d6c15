import unittest

from addon_modules import load

submission = load("submission")


class FakeClient:
    """Answers like the server: farms, blob uploads and one POST per route, recording what was sent."""

    server = "http://127.0.0.1:1"

    def __init__(self, answers):
        self.answers = answers
        self.posts = []
        self.uploaded = 0

    def check(self):
        return {"local": {"cores": 2}, "aws": []}

    def upload_blobs(self, entries, hashes, on_bytes):
        self.uploaded += 1
        return {"uploadId": "u-1"}

    def post(self, route, body):
        self.posts.append((route, body))
        return self.answers[route]


class Layout:
    blend = "shot.blend"
    entries = []


class Estimate(unittest.TestCase):
    def test_describes_time_and_money_or_cpu_hours(self):
        aws = {"seconds": {"low": 1500, "expected": 2400, "high": 3700}, "usd": {"low": 2.5, "expected": 3.1, "high": 3.94}}
        self.assertEqual(submission.describe_estimate(aws), "Estimate: about 40 min (25 min to 1 h 1 min), $3.10 ($2.50 to $3.94)")
        local = {"seconds": {"low": 9.6, "expected": 12.2, "high": 75}, "cpuHours": {"low": 0.01, "expected": 0.012, "high": 0.02}}
        self.assertEqual(submission.describe_estimate(local), "Estimate: about 12 s (10 s to 1 min 15 s), 0.01 CPU-hours")

    def test_the_upload_is_kept_so_the_submit_after_it_sends_nothing_again(self):
        client = FakeClient({"estimate": {"seconds": {"low": 1, "expected": 2, "high": 3}, "stored": {"target": "local"}}, "renders": {"renderId": "r-1"}})
        uploads = {}
        answer = submission.estimate(client, Layout(), {"frames": "1-2", "farm": "local"}, uploads=uploads)
        self.assertEqual(answer["stored"], {"target": "local"})
        submission.submit(client, Layout(), {"frames": "1-2", "farm": "local", "estimate": answer["stored"]}, uploads=uploads)
        self.assertEqual(client.uploaded, 1)
        self.assertEqual([route for route, _ in client.posts], ["estimate", "renders"])
        self.assertEqual(client.posts[1][1]["uploadId"], "u-1")
        self.assertEqual(client.posts[1][1]["settings"]["estimate"], {"target": "local"})

    def test_a_server_without_an_estimate_is_worded(self):
        client = FakeClient({"estimate": {"error": "nope"}})
        with self.assertRaisesRegex(submission.BrenderError, "The server sent no estimate"):
            submission.estimate(client, Layout(), {"frames": "1", "farm": "local"})


if __name__ == "__main__":
    unittest.main()
