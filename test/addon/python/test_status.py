import unittest

from addon_modules import load

status = load("status")


def detail(status_text, done=0, total=6, **extra):
    progress = {"framesDone": done, "framesTotal": total, "failedFrames": extra.pop("failed", [])}
    if "eta" in extra:
        progress["etaSeconds"] = extra.pop("eta")
    return dict({"status": status_text, "progress": progress}, **extra)


class Headline(unittest.TestCase):
    def test_each_stage_in_words(self):
        self.assertEqual(status.headline(detail("RUNNABLE")), "Queued (runnable): 0/6 frames")
        self.assertEqual(status.headline(detail("RUNNING", 3, eta=75)), "Rendering: 3/6 frames, ETA 1 min 15 s")
        self.assertEqual(status.headline(detail("RUNNING", 3)), "Rendering: 3/6 frames")
        self.assertEqual(status.headline(detail("RUNNING", 6, stage="upload_render_output")), "Running (upload_render_output): 6/6 frames")
        self.assertEqual(status.headline(detail("SUCCEEDED", 6)), "Done: 6/6 frames")
        self.assertEqual(status.headline(detail("FAILED", 4, reason="2 frames failed")), "Failed: 4/6 frames (2 frames failed)")
        self.assertEqual(status.headline(detail("SUBMITTED", total=0)), "Queued (submitted): frames not counted yet")

    def test_durations(self):
        self.assertEqual(status.format_duration(9.6), "10 s")
        self.assertEqual(status.format_duration(3725), "1 h 02 min")
        self.assertEqual(status.format_duration(-4), "0 s")


class Failures(unittest.TestCase):
    def test_at_most_three_lines_then_the_count(self):
        failed = [{"frame": f, "reason": "Blender crashed"} for f in range(1, 6)]
        self.assertEqual(status.failure_lines(detail("FAILED", failed=failed)), [
            "Frame 1 failed: Blender crashed",
            "Frame 2 failed: Blender crashed",
            "Frame 3 failed: Blender crashed",
            "… and 2 more failed frames (see the render's page)",
        ])
        self.assertEqual(status.failure_lines(detail("RUNNING")), [])


class Frames(unittest.TestCase):
    def test_frame_outputs_and_which_to_show(self):
        outputs = [
            {"name": "frames/frame_0001.png", "url": "/api/renders/r/outputs/frames/frame_0001.png"},
            {"name": "frames/frame_0012.exr", "url": "/u12"},
            {"name": "output.zip", "url": "/zip"},
        ]
        found = status.frame_outputs({"outputs": outputs})
        self.assertEqual(found, {1: "/api/renders/r/outputs/frames/frame_0001.png", 12: "/u12"})
        self.assertEqual(status.pick_frame(found, 1), 1)
        self.assertEqual(status.pick_frame(found, 5), 12)
        self.assertIsNone(status.pick_frame({}, 1))
        self.assertTrue(status.is_final({"status": "FAILED"}))
        self.assertFalse(status.is_final({"status": "RUNNING"}))


if __name__ == "__main__":
    unittest.main()
