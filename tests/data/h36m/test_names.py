import pytest

from structnet.data.h36m import names


def test_action_spellings_map_to_the_project_names():
    assert names.canonical_action("TakingPhoto") == "Photo"
    assert names.canonical_action("WalkingDog") == "WalkDog"
    assert names.canonical_action("walkingtogether") == "WalkTogether"
    assert names.canonical_action("SittingDown") == "SittingDown"
    assert names.canonical_action("_ALL") is None
    assert [names.action_from_id(i) for i in (2, 12, 15, 16)] == ["Directions", "Photo", "WalkDog", "WalkTogether"]
    with pytest.raises(ValueError):
        names.action_from_id(1)


def test_parse_stem():
    assert names.parse_stem("Directions 1.54138969") == ("Directions", 1, "54138969")
    assert names.parse_stem("TakingPhoto.60457274") == ("Photo", 0, "60457274")
    assert names.parse_stem("WalkDog 1") == ("WalkDog", 1, None)
    assert names.parse_stem("_ALL 1.54138969") is None
    assert names.parse_stem("Directions 1.54138969.mp4") is None


def test_parse_actions_keeps_the_project_order():
    assert names.parse_actions("Walking,TakingPhoto,eating") == ("Eating", "Photo", "Walking")
    assert len(names.parse_actions("all")) == 15
    with pytest.raises(ValueError, match="unknown action 'Jumping'"):
        names.parse_actions("Walking,Jumping")


def test_joints_are_the_papers_17():
    assert names.JOINTS_17 == (0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27)
