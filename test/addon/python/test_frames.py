import unittest

from addon_modules import load

frames = load("frames")


class SceneFrames(unittest.TestCase):
    def test_range_step_and_single_frame(self):
        self.assertEqual(frames.scene_frames(1, 250), "1-250")
        self.assertEqual(frames.scene_frames(1, 250, 5), "1-250:5")
        self.assertEqual(frames.scene_frames(7, 7, 3), "7")
        self.assertEqual(frames.scene_frames(-5, 5), "-5-5")

    def test_end_before_start_names_the_fix(self):
        with self.assertRaisesRegex(ValueError, r"end frame \(1\) is before its start \(9\): fix the frame range"):
            frames.scene_frames(9, 1)


class ParseFrames(unittest.TestCase):
    def test_lists_ranges_steps_and_singles_in_order_without_repeats(self):
        self.assertEqual(frames.parse_frames("1-10:4, 15,3,-2"), [1, 5, 9, 15, 3, -2])
        self.assertEqual(frames.parse_frames("-3--1"), [-3, -2, -1])
        self.assertEqual(frames.parse_frames("1-3,2-4"), [1, 2, 3, 4])
        self.assertEqual(frames.check_frames("1 - 3"), "1-3")

    def test_bad_parts_are_named(self):
        for text, expected in [
            ("", "the frame set is empty"),
            ("1-x", '"1-x" is not a frame or range'),
            ("5-1", '"5-1" ends before it starts'),
            ("1-5:0", '"1-5:0" has a step below 1'),
            ("1,,2", '"" is not a frame or range'),
        ]:
            with self.subTest(text=text), self.assertRaises(ValueError) as raised:
                frames.parse_frames(text)
            self.assertIn(expected, str(raised.exception))
            self.assertIn('write frames like "1-250"', str(raised.exception))


if __name__ == "__main__":
    unittest.main()
