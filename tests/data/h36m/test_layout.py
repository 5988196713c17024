import pytest

from structnet.errors import UserError
from structnet.data.h36m import layout, names
from structnet.data.h36m.metadata import Metadata


def test_detect(official_root, fetch_root, tmp_path):
    assert layout.detect(official_root[0]) == "official"
    assert layout.detect(fetch_root[0]) == "fetch"
    assert layout.detect(fetch_root[0] / "processed") == "fetch"
    with pytest.raises(UserError, match="no such directory"):
        layout.detect(tmp_path / "missing")
    with pytest.raises(UserError, match="no Human3.6M layout found"):
        layout.detect(tmp_path)


def test_official_units_and_subactions(official_root):
    root, _ = official_root
    md = Metadata(root / "metadata.xml")
    units, skipped = layout.official_units(root, ("S1",), names.ACTIONS, md)
    by = {u.stem: u for u in units}
    assert set(by) == {"Walking.54138969", "Walking 1.58860488", "Eating.55011271", "Eating 1.54138969"}
    assert skipped == ["S1/_ALL.54138969"]
    assert by["Walking 1.58860488"].subaction == 1 and by["Walking.54138969"].subaction == 2   # metadata.xml
    assert by["Eating.55011271"].subaction == 1 and by["Eating 1.54138969"].subaction == 2      # by name
    assert by["Walking 1.58860488"].camera == 2
    assert by["Walking.54138969"].video.endswith("S1/Videos/Walking.54138969.mp4")
    only, _ = layout.official_units(root, ("S1",), ("Eating",), md)
    assert {u.action for u in only} == {"Eating"}


def test_fetch_units(fetch_root):
    root, _ = fetch_root
    units, skipped = layout.fetch_units(root, ("S1", "S9"), names.ACTIONS)
    assert sorted(u.key for u in units) == ["S1.Walking-1.54138969", "S1.Walking-1.58860488",
                                            "S9.Directions-2.55011271"]
    assert {u.subaction for u in units if u.subject == "S9"} == {2}
