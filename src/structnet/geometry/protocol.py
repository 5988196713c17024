"""The Human3.6M protocol the project follows (legacy_notes/h36m.md, the paper's Sec. 5.1): frame
rate, the 15 actions (our spellings: Photo for TakingPhoto, WalkDog for WalkingDog), the
training and test subjects, and the four cameras. Every stage takes these from here."""

FPS = 50
ACTIONS = ("Directions", "Discussion", "Eating", "Greeting", "Phoning", "Photo", "Posing",
           "Purchases", "Sitting", "SittingDown", "Smoking", "Waiting", "WalkDog", "Walking",
           "WalkTogether")
TRAIN_SUBJECTS = ("S1", "S5", "S6", "S7", "S8")
TEST_SUBJECTS = ("S9", "S11")
SUBJECTS = TRAIN_SUBJECTS + TEST_SUBJECTS
CAMERA_IDS = ("54138969", "55011271", "58860488", "60457274")
