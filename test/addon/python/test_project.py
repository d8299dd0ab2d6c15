import os
import tempfile
import unittest

from addon_modules import load

project = load("project")


def touch(path, size=10):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(b"x" * size)
    return path


class UploadLayout(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="brender-layout-")
        self.blend = touch(os.path.join(self.root, "film", "shots", "shot.blend"), 100)

    def test_files_outside_the_blends_folder_keep_their_place_under_the_common_root(self):
        texture = touch(os.path.join(self.root, "film", "assets", "wood.png"), 20)
        inside = touch(os.path.join(self.root, "film", "shots", "tex", "a.png"), 5)
        layout = project.upload_layout(self.blend, [texture, inside, texture])
        self.assertEqual(layout.entries, [
            ("film/shots/shot.blend", self.blend),
            ("film/assets/wood.png", texture),
            ("film/shots/tex/a.png", inside),
        ])
        self.assertEqual(layout.blend, "shots/shot.blend")
        self.assertEqual(layout.outside, 1)
        self.assertEqual(layout.total_bytes, 125)
        self.assertEqual(project.summary_line(layout), "Uploads shot.blend and 2 files (1 outside its folder), 125 bytes")

    def test_a_blend_alone_is_its_folder(self):
        layout = project.upload_layout(self.blend, [])
        self.assertEqual(layout.entries, [("shots/shot.blend", self.blend)])
        self.assertEqual(layout.blend, "shot.blend")
        self.assertEqual(project.summary_line(layout), "Uploads shot.blend, 100 bytes")

    def test_a_common_root_at_the_filesystem_root_is_named_after_the_blend(self):
        layout = project.upload_layout("/shot.blend", ["/tmp/x.png"], size_of=lambda path: 2048)
        self.assertEqual(layout.entries, [("shot/shot.blend", "/shot.blend"), ("shot/tmp/x.png", "/tmp/x.png")])
        self.assertEqual(layout.blend, "shot.blend")
        self.assertEqual(project.format_bytes(layout.total_bytes), "4.0 KB")

    def test_a_name_the_server_refuses_is_named(self):
        bad = touch(os.path.join(self.root, "film", "assets", "a\\b.png"))
        with self.assertRaisesRegex(ValueError, r"has a name the server cannot take .*rename it"):
            project.upload_layout(self.blend, [bad])


if __name__ == "__main__":
    unittest.main()
