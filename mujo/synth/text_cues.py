"""Phrase banks for synthetic instructor captions: per-exercise form cues, fillers and segment talk."""

from __future__ import annotations

# Form cues an instructor says during each exercise (lower case, no punctuation: auto-caption style).
CUES: dict[str, tuple[str, ...]] = {
    "squat": ("knees behind your toes", "chest up", "push your hips back", "sit back like into a chair",
              "weight in your heels", "thighs parallel to the floor", "drive up through your heels"),
    "jump_squat": ("land soft", "explode up", "sink down into the squat", "swing your arms", "chest up",
                   "land with soft knees", "jump as high as you can"),
    "lunge": ("front knee over your ankle", "back knee almost touches the floor", "step forward", "chest up",
              "ninety degrees with both knees", "push through the front heel", "keep your torso upright"),
    "side_lunge": ("step out to the side", "sit back into that hip", "keep the other leg straight", "chest up",
                   "toes pointing forward", "push back to the middle", "feel it in the inner thigh"),
    "push_up": ("hands under your shoulders", "elbows back not out", "chest to the floor", "straight line from head "
                "to heels", "don't let your hips sag", "lower all the way down", "push the floor away"),
    "knee_push_up": ("knees on the mat", "hands under your shoulders", "straight line from knees to head",
                     "chest to the floor", "elbows at forty five degrees", "hips down"),
    "sit_up": ("all the way up", "feet flat on the floor", "roll up slowly", "don't pull on your neck",
               "lower back down with control", "use your abs not your arms"),
    "crunch": ("shoulder blades off the floor", "don't pull on your neck", "squeeze your abs", "chin off your chest",
               "lower back stays on the mat", "small movement"),
    "jumping_jack": ("arms all the way up", "feet out and in", "stay light on your feet", "land soft",
                     "clap over your head", "keep a steady rhythm"),
    "high_knees": ("knees up to hip height", "pump your arms", "stay on the balls of your feet", "drive those knees",
                   "fast feet", "stay tall"),
    "butt_kicks": ("heels to your glutes", "kick your butt", "stay on your toes", "quick feet",
                   "hands behind you", "stay light"),
    "burpee": ("hands down jump back", "chest to the floor", "jump your feet in", "jump up and clap",
               "land soft", "plank position", "explode up"),
    "mountain_climber": ("knees to your chest", "hips down", "shoulders over your wrists", "drive those knees",
                         "fast feet", "keep your back flat"),
    "plank": ("hold it", "elbows under your shoulders", "straight line", "don't let your hips drop",
              "squeeze your glutes", "breathe", "keep your core tight"),
    "glute_bridge": ("squeeze your glutes at the top", "drive through your heels", "hips up", "feet hip width apart",
                     "don't arch your lower back", "lower slowly"),
    "bicep_curl": ("elbows by your sides", "curl all the way up", "don't swing", "slow on the way down",
                   "squeeze at the top", "palms facing up"),
    "shoulder_press": ("press straight up", "elbows at ninety degrees", "don't arch your back", "all the way up",
                       "weights by your ears", "control it down"),
    "lateral_raise": ("arms out to the side", "up to shoulder height", "slight bend in the elbows", "lead with "
                      "your elbows", "don't shrug", "slow on the way down"),
    "tricep_extension": ("elbows close to your head", "lower behind your head", "extend all the way up",
                         "don't flare your elbows", "only your forearms move", "feel the triceps"),
    "bent_over_row": ("hinge at the hips", "flat back", "pull your elbows back", "squeeze your shoulder blades",
                      "weights to your hips", "don't round your back"),
    "russian_twist": ("lean back", "twist side to side", "feet off the floor if you can", "rotate from your core",
                      "touch the floor each side", "chest up"),
    "leg_raise": ("legs straight", "lower back on the mat", "lower slowly", "don't let your feet touch",
                  "hands under your hips", "lift all the way up"),
    "skater": ("jump side to side", "land on one leg", "swing your arms across", "stay low", "land soft",
               "reach back with the other leg"),
    "boxing_punches": ("jab cross", "rotate your hips", "hands up guard your face", "punch through",
                       "stay on your toes", "fast hands"),
    "arm_circles": ("arms straight out", "small circles", "shoulder height", "now switch direction",
                    "bigger circles", "keep your arms up"),
    "donkey_kick": ("on all fours", "kick your heel up to the ceiling", "squeeze your glute", "knee at ninety degrees",
                    "don't arch your back", "hands under your shoulders"),
    "superman": ("lift arms and legs", "squeeze your lower back", "look down at the floor", "hold at the top",
                 "reach long", "lower slowly"),
    "hip_thrust": ("drive your hips up", "chin tucked", "squeeze your glutes at the top", "shoulders on the bench",
                   "shins vertical", "full hip extension"),
    "wall_sit": ("back flat against the wall", "thighs parallel to the floor", "knees over your ankles", "hold it",
                 "don't put your hands on your legs", "breathe"),
    "calf_raise": ("up on your toes", "squeeze at the top", "lower slowly", "full range of motion",
                   "heels all the way down", "keep your knees straight"),
    "side_plank": ("hips up", "elbow under your shoulder", "stack your feet", "straight line", "don't let your hips "
                   "drop", "top arm up to the ceiling"),
    "bicycle_crunch": ("elbow to opposite knee", "extend the other leg", "twist from your core", "slow and controlled",
                       "shoulders off the mat", "don't pull on your neck"),
    "flutter_kicks": ("legs straight", "small fast kicks", "lower back pressed down", "keep your legs low",
                      "hands under your hips", "point your toes"),
    "inchworm": ("walk your hands out", "all the way to a plank", "walk your hands back", "keep your legs straight",
                 "bend at the hips", "roll up slowly"),
    "front_raise": ("arms straight in front", "up to shoulder height", "don't swing", "slow on the way down",
                    "palms facing down", "keep your core tight"),
    "hammer_curl": ("palms facing each other", "elbows by your sides", "curl all the way up", "don't swing",
                    "neutral grip", "slow on the way down"),
}

GENERIC_CUES: tuple[str, ...] = ("keep your core tight", "keep breathing", "nice and controlled", "you got this",
                                 "don't give up", "good form", "keep going", "almost there", "stay with me",
                                 "breathe out on the way up", "come on", "push push push", "nice")

OPENERS: tuple[str, ...] = ("alright", "okay", "ok guys", "let's go", "next up", "here we go", "all right let's do "
                            "this", "so", "okay so", "come on", "and go")

# Announce patterns: {name} is the spoken exercise name, {extra} the side or count phrase (may be empty).
ANNOUNCE: tuple[str, ...] = ("next exercise is {name} {extra}", "we're doing {name} {extra}", "{name} {extra} let's go",
                             "now {name} {extra}", "time for {name} {extra}", "{name} {extra}")

CLOSERS: tuple[str, ...] = ("and rest", "good job", "awesome", "nice work", "shake it out", "and stop", "well done",
                            "great job guys", "that's it")

# Noise tokens YouTube's automatic captions insert.
ASR_TAGS: tuple[str, ...] = ("[Music]", "[Applause]", "[Music]")

# What the trainer says during each non-exercise segment; a caption strings a few of these together.
SEGMENT_LINES: dict[str, tuple[str, ...]] = {
    "intro": ("hey guys welcome back to my channel", "today we have a full body workout for you",
              "no equipment needed", "all you need is a mat", "make sure you grab some water",
              "we're going to do each exercise for about thirty seconds", "let's get started",
              "if you're new here don't forget to subscribe", "this workout is great for beginners"),
    "rest": ("take a quick rest", "shake it out", "breathe in breathe out", "you're doing great",
             "next up is coming", "get ready for the next one", "catch your breath", "rest"),
    "water_break": ("grab your water", "let's take a water break", "hydrate", "take a sip",
                    "we're halfway there", "get ready for the next round"),
    "explanation": ("so for this one", "let me show you how to do it", "make sure your back stays straight",
                    "watch my form here", "if it's too hard you can modify it", "the most common mistake is",
                    "go at your own pace", "this is the first exercise"),
    "cooldown_stretch": ("let's cool down", "reach up and stretch", "hold this stretch", "breathe in breathe out",
                         "bring your foot to your glute", "stretch the other side", "relax your shoulders",
                         "great job today"),
    "outro": ("that's it for today", "thanks for watching", "don't forget to like and subscribe",
              "see you next time", "great job you made it", "leave a comment below", "bye guys"),
}

# Small numbers in words, for counting reps and seconds as auto captions write them.
NUMBER_WORDS: tuple[str, ...] = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                                 "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
                                 "seventeen", "eighteen", "nineteen", "twenty")
TENS_WORDS: dict[int, str] = {20: "twenty", 30: "thirty", 40: "forty", 50: "fifty", 60: "sixty", 70: "seventy",
                              80: "eighty", 90: "ninety"}


def number_words(n: int) -> str:
    """`n` (0 <= n < 100) in words as an automatic caption writes it ("forty five"); larger numbers as digits."""
    if n < 0 or n >= 100:
        return str(n)
    if n <= 20:
        return NUMBER_WORDS[n]
    tens, ones = divmod(n, 10)
    return TENS_WORDS[tens * 10] + (f" {NUMBER_WORDS[ones]}" if ones else "")
