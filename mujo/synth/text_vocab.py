"""Phrase banks for synthetic chapter titles: display names, uploader synonyms, key words, typos, emoji."""

from __future__ import annotations

# Kind -> clean display name. Each value is already in normalised form (normalize_chapter(v) == v), so zero-shot
# class names live in the same text space as clips.csv's chapter_norm.
CANONICAL_DISPLAY: dict[str, str] = {
    "squat": "squat",
    "jump_squat": "jump squat",
    "lunge": "lunge",
    "side_lunge": "side lunge",
    "push_up": "push up",
    "knee_push_up": "knee push up",
    "sit_up": "sit up",
    "crunch": "crunch",
    "jumping_jack": "jumping jack",
    "high_knees": "high knees",
    "butt_kicks": "butt kicks",
    "burpee": "burpee",
    "mountain_climber": "mountain climber",
    "plank": "plank",
    "glute_bridge": "glute bridge",
    "bicep_curl": "bicep curl",
    "shoulder_press": "shoulder press",
    "lateral_raise": "lateral raise",
    "tricep_extension": "tricep extension",
    "bent_over_row": "bent over row",
    "russian_twist": "russian twist",
    "leg_raise": "leg raise",
    "skater": "skater",
    "boxing_punches": "boxing punches",
    "arm_circles": "arm circles",
    "donkey_kick": "donkey kick",
    "superman": "superman",
    "hip_thrust": "hip thrust",
    "wall_sit": "wall sit",
    "calf_raise": "calf raise",
    "side_plank": "side plank",
    "bicycle_crunch": "bicycle crunch",
    "flutter_kicks": "flutter kicks",
    "inchworm": "inchworm",
    "front_raise": "front raise",
    "hammer_curl": "hammer curl",
    # Non-exercise segments of a workout video.
    "intro": "intro",
    "rest": "rest",
    "water_break": "water break",
    "explanation": "explanation",
    "cooldown_stretch": "cool down stretch",
    "outro": "outro",
}

NON_EXERCISE_KINDS: tuple[str, ...] = ("intro", "rest", "water_break", "explanation", "cooldown_stretch", "outro")
EXERCISE_KINDS: tuple[str, ...] = tuple(k for k in CANONICAL_DISPLAY if k not in NON_EXERCISE_KINDS)

# Exercises done one side at a time (titles then carry "L"/"R", "left side", ...).
SIDED_KINDS: frozenset[str] = frozenset({"lunge", "side_lunge", "donkey_kick", "side_plank"})

# How uploaders name each exercise. Written in natural case; the generator recases, numbers and decorates them.
TITLE_NAMES: dict[str, tuple[str, ...]] = {
    "squat": ("Squats", "Squat", "Bodyweight squats", "Bodyweight squat", "Air squats", "Air squat", "Basic squats",
              "Deep squats", "Regular squats", "Squats (bodyweight)", "BW squats", "Slow squats", "Prisoner squats",
              "Classic squat"),
    "jump_squat": ("Jump squats", "Jump squat", "Squat jumps", "Squat jump", "Jumping squats", "High jump squats",
                   "Explosive squat jumps", "Plyo squats", "Squat to jump"),
    "lunge": ("Lunges", "Lunge", "Forward lunges", "Reverse lunges", "Static lunges", "Split squats", "Front lunge",
              "Back lunges", "Stationary lunge", "Reverse lunge"),
    "side_lunge": ("Side lunges", "Side lunge", "Lateral lunges", "Lateral lunge", "Side to side lunges",
                   "Side lunge (lateral)", "Lateral lunge stretch"),
    "push_up": ("Push ups", "Push-ups", "Pushups", "Push-up", "Pushup", "Push up", "Press ups", "Standard push-ups",
                "Full push ups", "Regular pushups"),
    "knee_push_up": ("Knee push ups", "Kneeling push-ups", "Modified push ups", "Push-ups on knees", "Knee pushups",
                     "Half push ups", "Modified pushup (knees)", "Knee push-up"),
    "sit_up": ("Sit ups", "Sit-ups", "Situps", "Sit-up", "Full sit ups", "Sit up", "Straight arm sit-ups",
               "Abs sit ups"),
    "crunch": ("Crunches", "Crunch", "Ab crunches", "Basic crunches", "Abdominal crunch", "Floor crunches",
               "Crunches (abs)", "Short crunches"),
    "jumping_jack": ("Jumping jacks", "Jumping jack", "Star jumps", "Jacks", "JJs", "Jumping jacks (warm up)",
                     "Fast jumping jacks"),
    "high_knees": ("High knees", "High knee", "High knees run", "Running in place high knees", "High-knees",
                   "Fast high knees", "High knee sprints"),
    "butt_kicks": ("Butt kicks", "Butt kickers", "Butt kick", "Heel flicks", "Butt kicks (jog)", "Bum kicks"),
    "burpee": ("Burpees", "Burpee", "Full burpees", "Burpees w/ push up", "Half burpees", "Burpee jumps",
               "Classic burpee"),
    "mountain_climber": ("Mountain climbers", "Mountain climber", "Mountain climbers (fast)",
                         "Cross body mountain climbers", "Slow mountain climbers", "Climbers", "Mtn climbers"),
    "plank": ("Plank", "Plank hold", "Forearm plank", "High plank", "Elbow plank", "Plank (hold)", "Front plank",
              "Straight arm plank", "Planks"),
    "glute_bridge": ("Glute bridges", "Glute bridge", "Hip bridges", "Bridge", "Bridges", "Bridge pulses",
                     "Glute bridge (floor)"),
    "bicep_curl": ("Bicep curls", "Biceps curls", "DB bicep curls", "Dumbbell curls", "Bicep curl", "Curls",
                   "Standing curls", "Bicep curls w/ dumbbells"),
    "shoulder_press": ("Shoulder press", "Shoulder presses", "DB shoulder press", "Overhead press",
                       "Dumbbell shoulder press", "OHP", "Military press", "Standing shoulder press"),
    "lateral_raise": ("Lateral raises", "Lateral raise", "Side raises", "Lat raises", "DB lateral raises",
                      "Side lateral raise", "Lateral shoulder raises"),
    "tricep_extension": ("Tricep extensions", "Triceps extension", "Overhead tricep extension", "Tricep ext",
                         "Tricep extension (DB)", "Overhead triceps ext.", "OH tricep extensions"),
    "bent_over_row": ("Bent over rows", "Bent-over row", "DB rows", "Dumbbell rows", "Rows", "Bent over dumbbell row",
                      "Bent over rows (dumbbells)"),
    "russian_twist": ("Russian twists", "Russian twist", "Russian twists (feet up)", "Seated twists",
                      "Russian twist w/ weight", "Twists"),
    "leg_raise": ("Leg raises", "Leg raise", "Lying leg raises", "Straight leg raises", "Leg lifts",
                  "Lying leg lifts"),
    "skater": ("Skaters", "Skater", "Skater jumps", "Skater hops", "Speed skaters", "Lateral skaters", "Ice skaters"),
    "boxing_punches": ("Boxing punches", "Punches", "Jab cross", "Shadow boxing", "Boxing", "Speed punches",
                       "Punches (jab cross)", "Boxer punches"),
    "arm_circles": ("Arm circles", "Arm circle", "Small arm circles", "Big arm circles", "Forward arm circles",
                    "Backward arm circles", "Arm rotations"),
    "donkey_kick": ("Donkey kicks", "Donkey kick", "Glute kickbacks", "Kickbacks", "Donkey kicks (all fours)",
                    "Quadruped kickbacks"),
    "superman": ("Superman", "Supermans", "Superman hold", "Supermen", "Superman raises",
                 "Back extensions (superman)"),
    "hip_thrust": ("Hip thrusts", "Hip thrust", "Hip thrusters", "Weighted hip thrust", "Hip thrust (bench)"),
    "wall_sit": ("Wall sit", "Wall sits", "Wall squat hold", "Wall sit hold", "Wall sit (hold)"),
    "calf_raise": ("Calf raises", "Calf raise", "Standing calf raises", "Heel raises", "Calves raises",
                   "Tip toe raises"),
    "side_plank": ("Side plank", "Side planks", "Side plank hold", "Forearm side plank", "Side plank (hold)"),
    "bicycle_crunch": ("Bicycle crunches", "Bicycle crunch", "Bicycles", "Bicycle crunches (slow)", "Bike crunches",
                       "Cross crunches"),
    "flutter_kicks": ("Flutter kicks", "Flutter kick", "Flutters", "Scissor kicks", "Flutter kicks (low)"),
    "inchworm": ("Inchworms", "Inchworm", "Inch worms", "Inchworm walkouts", "Walkouts", "Inchworm to plank"),
    "front_raise": ("Front raises", "Front raise", "DB front raises", "Dumbbell front raise", "Front shoulder raises",
                    "Alternating front raises"),
    "hammer_curl": ("Hammer curls", "Hammer curl", "DB hammer curls", "Dumbbell hammer curls",
                    "Hammer curls (neutral grip)"),
}

# Non-exercise titles. Some carry their own emoji or punctuation, as uploaders write them.
NON_EXERCISE_TITLES: dict[str, tuple[str, ...]] = {
    "intro": ("Intro", "Introduction", "Welcome!", "Warm up talk", "Hey guys!", "Start", "Workout overview",
              "Intro 👋", "Before we start", "Welcome & overview", "Let's get started"),
    "rest": ("Rest", "REST", "Break", "Rest period", "Short rest", "Recovery", "Take a break", "Pause",
             "Rest & breathe", "Active rest"),
    "water_break": ("Water break 💧", "Water break", "Hydration break", "Drink water", "Water + rest",
                    "Quick water break", "Grab some water!"),
    "explanation": ("Explanation", "How to do it", "Form tips", "Exercise explanation", "Demo", "Technique breakdown",
                    "Quick explanation", "Tutorial", "How to"),
    "cooldown_stretch": ("Cool down", "Cool down & stretch", "Cooldown", "Stretching", "Stretch",
                         "Cool-down stretches", "Final stretch", "Stretch & cool down"),
    "outro": ("Outro", "Thanks for watching!", "End", "Outro & tips", "That's a wrap!", "Final words",
              "See you next time 👋", "Subscribe!", "Ending"),
}

# Non-exercise kinds whose titles may carry a duration ("Rest 30s").
TIMED_NON_EXERCISE: frozenset[str] = frozenset({"rest", "water_break", "cooldown_stretch"})

# What a normalised title of each kind contains (any one of these substrings), typos aside. Used by tests and
# by anyone checking that a title still names its exercise.
KEYWORDS: dict[str, tuple[str, ...]] = {
    "squat": ("squat",), "jump_squat": ("squat",), "lunge": ("lunge", "split squat"), "side_lunge": ("lunge",),
    "push_up": ("push", "press up"), "knee_push_up": ("push",), "sit_up": ("sit",), "crunch": ("crunch",),
    "jumping_jack": ("jack", "star jump"), "high_knees": ("knee",), "butt_kicks": ("butt", "heel", "bum"),
    "burpee": ("burpee",), "mountain_climber": ("climber",), "plank": ("plank",), "glute_bridge": ("bridge",),
    "bicep_curl": ("curl",), "shoulder_press": ("press",), "lateral_raise": ("raise",),
    "tricep_extension": ("tricep", "extension"), "bent_over_row": ("row",), "russian_twist": ("twist",),
    "leg_raise": ("leg",), "skater": ("skater",), "boxing_punches": ("punch", "box", "jab"),
    "arm_circles": ("arm",), "donkey_kick": ("kick",), "superman": ("superm",), "hip_thrust": ("thrust",),
    "wall_sit": ("wall",), "calf_raise": ("raise",), "side_plank": ("plank",),
    "bicycle_crunch": ("bicycle", "bike", "crunch"), "flutter_kicks": ("flutter", "scissor", "kick"),
    "inchworm": ("inch", "walkout"), "front_raise": ("raise",), "hammer_curl": ("hammer", "curl"),
}

# Misspellings seen in real uploads; the generator prefers these over random letter swaps when a word has some.
MISSPELLINGS: dict[str, tuple[str, ...]] = {
    "squats": ("sqauts", "squates", "sqats", "squads"), "squat": ("sqaut", "squatt"),
    "lunges": ("lundges", "lunches", "lungs"), "lunge": ("lundge", "lung"),
    "burpees": ("burpies", "burbees", "burpess"), "crunches": ("crunchs", "crunshes"),
    "climbers": ("climers", "climbres"), "jacks": ("jaks",), "raises": ("rasies", "raizes"),
    "extensions": ("extentions", "extensons"), "extension": ("extention",), "bicep": ("bicept", "bycep"),
    "russian": ("rusian", "russain"), "twists": ("twits",), "plank": ("palnk",), "superman": ("supperman",),
    "bridges": ("briges",), "kicks": ("kiks",), "curls": ("curles",), "skaters": ("skatters",),
    "punches": ("punchs",), "circles": ("circels",), "thrusts": ("thursts",), "calf": ("claf",),
}

EXERCISE_EMOJI: tuple[str, ...] = ("🔥", "💪", "😅", "🏋️", "🦵", "⚡", "💥", "😤", "🥵", "✅", "👊", "🙌", "💯", "😰")
NON_EXERCISE_EMOJI: dict[str, tuple[str, ...]] = {
    "intro": ("👋", "😊", "🎉", "🙌"), "rest": ("😮\u200d💨", "⏸️", "😌", "🛑"), "water_break": ("💧", "🚰", "🥤"),
    "explanation": ("📝", "👀", "💡"), "cooldown_stretch": ("🧘", "😌", "🙏"), "outro": ("❤️", "👋", "🙏", "🎉"),
}
