"""geometry/protocol.py: Human3.6M's protocol 1 (train S1 S5 S6 S7 S8, test S9 S11), 15 actions, 4 cameras, 50 fps."""
from structnet.geometry import protocol


def test_protocol_constants():
    assert protocol.TRAIN_SUBJECTS == ("S1", "S5", "S6", "S7", "S8") and protocol.TEST_SUBJECTS == ("S9", "S11")
    assert not set(protocol.TRAIN_SUBJECTS) & set(protocol.TEST_SUBJECTS)
    assert len(protocol.ACTIONS) == 15 and len(set(protocol.ACTIONS)) == 15
    assert len(protocol.CAMERA_IDS) == 4 and protocol.FPS == 50
