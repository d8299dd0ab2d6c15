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

    def traced(self, *groups, path="//x.png", packed=False):
        return [{"kind": "image", "owner": "Image", "library": None, "path": path, "resolved": files[0], "folder": False,
                 "packed": packed, "files": list(files), "missing": []} for files in groups]

    def test_files_outside_the_blends_folder_go_under_external_at_their_absolute_path_with_the_farms_map(self):
        texture = touch(os.path.join(self.root, "film", "assets", "wood.png"), 20)
        inside = touch(os.path.join(self.root, "film", "shots", "tex", "a.png"), 5)
        layout = project.upload_layout(self.blend, self.traced([texture], [inside], [texture]))
        self.assertEqual(layout.entries, [
            ("shots/shot.blend", self.blend),
            ("shots/_external" + texture, texture),
            ("shots/tex/a.png", inside),
        ])
        self.assertEqual(layout.blend, "shot.blend")
        self.assertEqual(layout.outside, 1)
        self.assertEqual(layout.total_bytes, 125)
        self.assertEqual([entry["target"] for entry in layout.dependency_map["entries"]], ["_external" + texture, "tex/a.png", "_external" + texture])
        self.assertEqual(project.summary_line(layout), "Uploads shot.blend and 2 files (1 outside its folder), 125 bytes")
        folder = tempfile.mkdtemp(prefix="brender-map-")
        project.add_map_file(layout, folder)
        self.assertEqual(layout.entries[-1], ("shots/_brender-dependencies.json", os.path.join(folder, "_brender-dependencies.json")))

    def test_every_udim_tile_and_sequence_frame_is_uploaded(self):
        tiles = [touch(os.path.join(self.root, "film", "shots", "t.%d.png" % tile)) for tile in (1001, 1002)]
        layout = project.upload_layout(self.blend, self.traced(tiles))
        self.assertEqual([name for name, _ in layout.entries[1:]], ["shots/t.1001.png", "shots/t.1002.png"])

    def test_a_blend_alone_is_its_folder_with_no_map(self):
        layout = project.upload_layout(self.blend, self.traced([os.path.join(self.root, "x.png")], packed=True))
        self.assertEqual(layout.entries, [("shots/shot.blend", self.blend)])
        self.assertEqual(layout.blend, "shot.blend")
        self.assertIsNone(layout.dependency_map)
        self.assertEqual(project.summary_line(layout), "Uploads shot.blend, 100 bytes")

    def test_windows_and_unc_paths_are_laid_out_as_packing_does(self):
        self.assertEqual(project.manifest_path_of("C:\\tex\\t.png", "/p"), "_external/C/tex/t.png")
        self.assertEqual(project.manifest_path_of("\\\\srv\\share\\t.png", "/p"), "_external/UNC/srv/share/t.png")

    def test_a_project_at_the_filesystem_root_is_named_after_the_blend(self):
        layout = project.upload_layout("/shot.blend", self.traced(["/tmp/x.png"]), size_of=lambda path: 2048)
        self.assertEqual(layout.entries, [("shot/shot.blend", "/shot.blend"), ("shot/tmp/x.png", "/tmp/x.png")])
        self.assertEqual(project.format_bytes(layout.total_bytes), "4.0 KB")

    def test_a_name_the_server_refuses_is_named(self):
        bad = touch(os.path.join(self.root, "film", "assets", "a\\b.png"))
        with self.assertRaisesRegex(ValueError, r"has a name the server cannot take .*rename it"):
            project.upload_layout(self.blend, self.traced([bad]))


if __name__ == "__main__":
    unittest.main()
