"""Longer exercise descriptions in the manner of the GPT-3.5 texts that FiMAD ships (one or a few per kind)."""

from __future__ import annotations

import numpy as np

from mujo.synth.text_vocab import CANONICAL_DISPLAY, NON_EXERCISE_KINDS

# Per exercise: (opening sentence naming what it is and the muscles, how to do it (imperative sentences),
# the common mistake (gerund phrase), what it does (verb phrase, third person singular)).
FACTS: dict[str, tuple[str, str, str, str]] = {
    "squat": ("The squat is a fundamental lower-body exercise that targets the quadriceps, hamstrings and glutes "
              "while engaging the core.", "Stand with your feet shoulder-width apart, push your hips back and bend "
              "your knees until your thighs are roughly parallel to the floor, then drive through your heels to "
              "stand up.", "letting the knees cave inward or the heels lift off the floor",
              "builds leg strength and improves hip mobility"),
    "jump_squat": ("The jump squat is a plyometric variation of the squat that works the quadriceps, glutes and "
                   "calves and raises the heart rate quickly.", "Lower into a squat, then explode upward into a "
                   "jump, landing softly with bent knees and flowing straight into the next repetition.",
                   "landing with locked knees or letting the chest collapse forward",
                   "develops explosive power and cardiovascular fitness"),
    "lunge": ("The lunge is a unilateral lower-body exercise that targets the quadriceps, glutes and hamstrings "
              "and challenges balance.", "Step one leg forward and lower your hips until both knees are bent at "
              "about ninety degrees, then push through the front heel to return to standing.",
              "letting the front knee drift past the toes or leaning the torso forward",
              "strengthens each leg on its own and corrects imbalances between sides"),
    "side_lunge": ("The side lunge, or lateral lunge, works the glutes, quadriceps and inner thighs in the frontal "
                   "plane.", "Step wide to one side, bend that knee and sit your hips back while keeping the other "
                   "leg straight, then push off to return to the centre.",
                   "rounding the back or letting the bent knee collapse inward",
                   "improves hip mobility and lateral stability"),
    "push_up": ("The push-up is a classic bodyweight exercise that strengthens the chest, shoulders and triceps "
                "while the core stabilises the body.", "Start in a high plank with your hands under your "
                "shoulders, lower your chest to just above the floor and press back up, keeping your body in a "
                "straight line.", "letting the hips sag or flaring the elbows out wide",
                "builds upper-body pushing strength without any equipment"),
    "knee_push_up": ("The knee push-up is a modified push-up that works the chest, shoulders and triceps with "
                     "less load, which makes it ideal for beginners.", "Kneel on a mat with your hands under your "
                     "shoulders, keep a straight line from knees to head and lower your chest towards the floor "
                     "before pressing back up.", "piking the hips up or only moving through half the range",
                     "builds the strength needed for full push-ups"),
    "sit_up": ("The sit-up is a core exercise that targets the rectus abdominis and hip flexors.", "Lie on your "
               "back with your knees bent and feet flat, then curl your torso all the way up towards your knees "
               "and lower back down with control.", "pulling on the neck with the hands or using momentum",
               "strengthens the abdominal muscles and improves trunk flexion"),
    "crunch": ("The crunch is an isolation exercise for the abdominal muscles, especially the rectus abdominis.",
               "Lie on your back with your knees bent, place your hands by your temples and lift your shoulder "
               "blades off the floor by contracting your abs, then lower slowly.",
               "yanking the head forward or lifting the lower back off the mat",
               "tones the abs with minimal strain on the hip flexors"),
    "jumping_jack": ("The jumping jack is a full-body cardio exercise that works the calves, shoulders and hip "
                     "muscles.", "Jump your feet out wide while raising your arms overhead, then jump back to the "
                     "starting position with your arms by your sides, keeping a steady rhythm.",
                     "landing heavily on the heels or not bringing the arms all the way up",
                     "raises the heart rate and makes an excellent warm-up"),
    "high_knees": ("High knees are a running-in-place cardio drill that engages the hip flexors, quadriceps and "
                   "calves.", "Run on the spot, driving each knee up to hip height while pumping your arms and "
                   "staying on the balls of your feet.", "leaning back or letting the knees stay low",
                   "boosts heart rate, coordination and leg speed"),
    "butt_kicks": ("Butt kicks are a dynamic cardio drill that works the hamstrings and calves.", "Jog in place "
                   "and kick each heel up towards your glutes, keeping your thighs pointing down and your arms "
                   "moving.", "leaning forward or swinging the knees forward",
                   "warms up the hamstrings and raises the heart rate"),
    "burpee": ("The burpee is a demanding full-body exercise that combines a squat, a plank and a jump, working "
               "the legs, chest, arms and core.", "From standing, squat down and place your hands on the floor, "
               "jump your feet back into a plank, jump them back in and explode up into a jump with your arms "
               "overhead.", "letting the hips sag in the plank or landing stiff-legged",
               "builds strength and endurance at the same time"),
    "mountain_climber": ("The mountain climber is a dynamic core and cardio exercise performed in a plank "
                         "position, working the abs, shoulders and hip flexors.", "Start in a high plank and "
                         "drive your knees towards your chest one at a time in a running motion, keeping your "
                         "hips low.", "bouncing the hips up or letting the shoulders drift behind the wrists",
                         "strengthens the core while raising the heart rate"),
    "plank": ("The plank is an isometric core exercise that engages the abdominals, lower back, shoulders and "
              "glutes.", "Rest on your forearms and toes with your elbows under your shoulders and hold your body "
              "in a straight line from head to heels.", "letting the hips sag or pushing them too high",
              "builds core stability and improves posture"),
    "glute_bridge": ("The glute bridge is a floor exercise that targets the glutes and hamstrings.", "Lie on your "
                     "back with your knees bent and feet flat, drive through your heels to lift your hips until "
                     "your body forms a straight line from shoulders to knees, then lower slowly.",
                     "arching the lower back instead of squeezing the glutes",
                     "activates the glutes and supports a healthy lower back"),
    "bicep_curl": ("The bicep curl is an isolation exercise for the biceps, usually performed with dumbbells.",
                   "Hold the dumbbells with your palms facing forward and your elbows by your sides, curl the "
                   "weights up towards your shoulders and lower them slowly.",
                   "swinging the weights with the back or letting the elbows drift forward",
                   "builds arm strength and muscle definition"),
    "shoulder_press": ("The shoulder press is an upper-body exercise that targets the deltoids and triceps.",
                       "Hold the dumbbells at shoulder height with your elbows bent, press them straight overhead "
                       "until your arms are extended and lower them back with control.",
                       "arching the lower back or pressing the weights forward",
                       "builds strong, stable shoulders"),
    "lateral_raise": ("The lateral raise is an isolation exercise for the side deltoids.", "Hold the dumbbells by "
                      "your sides, raise your arms out to the side with a slight bend in the elbows until they "
                      "reach shoulder height, then lower slowly.", "shrugging the shoulders or swinging the weights",
                      "widens and strengthens the shoulders"),
    "tricep_extension": ("The overhead tricep extension isolates the triceps at the back of the upper arm.",
                         "Hold a dumbbell overhead with both hands, lower it behind your head by bending the "
                         "elbows and extend your arms back up without moving your upper arms.",
                         "flaring the elbows out or arching the lower back",
                         "strengthens the triceps for pressing movements"),
    "bent_over_row": ("The bent-over row is a pulling exercise that targets the upper back, lats and biceps.",
                      "Hinge forward at the hips with a flat back, let the dumbbells hang and pull them towards "
                      "your hips by driving your elbows back, then lower them with control.",
                      "rounding the back or jerking the weights up", "builds a strong back and improves posture"),
    "russian_twist": ("The Russian twist is a seated core exercise that targets the obliques and abdominals.",
                      "Sit with your knees bent, lean back slightly with a straight spine and rotate your torso "
                      "from side to side, touching the floor next to your hips.",
                      "rounding the back or moving only the arms instead of the torso",
                      "strengthens the obliques and rotational stability"),
    "leg_raise": ("The lying leg raise targets the lower abdominals and hip flexors.", "Lie on your back with your "
                  "legs straight, lift them up to vertical while keeping your lower back on the floor and lower "
                  "them slowly without touching the ground.", "arching the lower back or dropping the legs fast",
                  "strengthens the lower abs and improves core control"),
    "skater": ("The skater is a lateral plyometric exercise that works the glutes, quadriceps and calves.",
               "Leap sideways from one leg to the other, landing softly on the outside leg while the trailing leg "
               "sweeps behind you and your arms swing across your body.", "landing stiffly or standing too upright",
               "improves balance, agility and lateral power"),
    "boxing_punches": ("Boxing punches are a cardio exercise that works the shoulders, arms and core through "
                       "fast upper-body strikes.", "Stand in a staggered stance with your hands up, throw quick "
                       "alternating jabs and crosses and rotate your hips and back foot with each cross.",
                       "dropping the guard or punching only with the arms",
                       "raises the heart rate and improves coordination"),
    "arm_circles": ("Arm circles are a simple warm-up exercise for the shoulders and upper back.", "Extend your "
                    "arms straight out to the sides at shoulder height and draw small circles, gradually making "
                    "them bigger, then switch direction.", "letting the arms drop below shoulder height",
                    "warms up the shoulder joints and builds endurance"),
    "donkey_kick": ("The donkey kick is a glute isolation exercise performed on all fours.", "Start on your hands "
                    "and knees, keep one knee bent at ninety degrees and kick that heel up towards the ceiling, "
                    "then lower it without touching the floor.", "arching the lower back or rotating the hips",
                    "shapes and strengthens the glutes"),
    "superman": ("The superman is a back-extension exercise that targets the lower back, glutes and shoulders.",
                 "Lie face down with your arms extended overhead, lift your arms, chest and legs off the floor at "
                 "the same time, hold briefly and lower with control.",
                 "lifting the head too high and straining the neck",
                 "strengthens the posterior chain and supports good posture"),
    "hip_thrust": ("The hip thrust is a glute-focused exercise performed with the upper back on a bench.",
                   "Rest your shoulder blades on a bench with your knees bent, drive your hips up until your "
                   "thighs and torso are in line and squeeze your glutes at the top.",
                   "overextending the lower back or pushing through the toes",
                   "builds glute strength and hip power"),
    "wall_sit": ("The wall sit is an isometric exercise that targets the quadriceps, glutes and calves.",
                 "Lean your back against a wall and slide down until your knees are bent at ninety degrees, then "
                 "hold the position with your weight in your heels.",
                 "resting the hands on the thighs or letting the knees pass the toes",
                 "builds muscular endurance in the legs"),
    "calf_raise": ("The calf raise is a simple exercise that targets the gastrocnemius and soleus muscles of the "
                   "lower leg.", "Stand tall with your feet hip-width apart, rise up onto your toes as high as "
                   "you can, pause and lower your heels slowly.", "bouncing quickly through a partial range",
                   "strengthens the calves and supports ankle stability"),
    "side_plank": ("The side plank is an isometric core exercise that targets the obliques and shoulder "
                   "stabilisers.", "Lie on your side, prop yourself up on one forearm with the elbow under the "
                   "shoulder, lift your hips and hold your body in a straight line.",
                   "letting the hips drop towards the floor", "builds lateral core strength and stability"),
    "bicycle_crunch": ("The bicycle crunch is a core exercise that works the rectus abdominis and the obliques.",
                       "Lie on your back with your hands behind your head, bring one knee in while rotating the "
                       "opposite elbow towards it and extend the other leg, alternating sides in a pedalling "
                       "motion.", "pulling on the neck or rushing through the movement",
                       "strengthens the whole abdominal wall"),
    "flutter_kicks": ("Flutter kicks are a core exercise that targets the lower abdominals and hip flexors.",
                      "Lie on your back with your legs straight and slightly raised, then kick them up and down "
                      "in small, quick alternating movements.", "letting the lower back lift off the floor",
                      "builds endurance in the lower abs"),
    "inchworm": ("The inchworm is a full-body movement that stretches the hamstrings and strengthens the "
                 "shoulders and core.", "From standing, hinge forward, place your hands on the floor and walk "
                 "them out into a plank, then walk them back towards your feet and roll up.",
                 "bending the knees too much or letting the hips sag in the plank",
                 "improves flexibility and makes a good dynamic warm-up"),
    "front_raise": ("The front raise is a shoulder exercise that isolates the front deltoids.", "Hold the "
                    "dumbbells in front of your thighs, raise them straight in front of you to shoulder height "
                    "with your arms almost straight and lower them slowly.",
                    "swinging the body or raising the weights above shoulder height",
                    "strengthens the front of the shoulders"),
    "hammer_curl": ("The hammer curl is a curl variation that works the biceps and the brachioradialis of the "
                    "forearm.", "Hold the dumbbells with your palms facing each other, keep your elbows by your "
                    "sides and curl the weights up towards your shoulders before lowering them slowly.",
                    "swinging the weights or letting the elbows move forward",
                    "builds arm and grip strength"),
}

# Sentence frames; {how} is a sentence, {mistake} a gerund phrase, {benefit} a verb phrase.
_FRAMES: tuple[str, ...] = (
    "{intro} {how} A common mistake is {mistake}, so move slowly and keep your core engaged. "
    "Performed regularly, this exercise {benefit}.",
    "{intro} To perform it: {how_lc} Avoid {mistake}. Including it in your routine {benefit}.",
    "{intro} {how} Focus on good form and avoid {mistake}.",
)

NON_EXERCISE_TEXT: dict[str, tuple[str, ...]] = {
    "intro": ("The trainer introduces the workout, explains which exercises are coming and what equipment is "
              "needed. Viewers are encouraged to grab water and a mat before starting.",
              "In this opening segment the instructor greets the viewers and gives an overview of the session. "
              "No exercise is performed yet."),
    "rest": ("A short rest between exercises. The trainer stands or walks in place, catches their breath and "
             "prepares for the next movement.",
             "This is a recovery period in which no exercise is performed. The instructor breathes deeply and "
             "announces the next exercise."),
    "water_break": ("A short break to drink water and recover. The trainer pauses the workout, hydrates and "
                    "motivates viewers to continue.",),
    "explanation": ("The trainer explains how to perform the next exercise, demonstrating the correct form and "
                    "pointing out common mistakes. The movement is shown slowly rather than as a full set.",),
    "cooldown_stretch": ("The cool-down segment, in which the trainer performs slow stretches for the legs, hips "
                         "and shoulders. Breathing is calm and the heart rate gradually returns to normal.",
                         "A gentle stretching routine at the end of the workout. Each stretch is held for several "
                         "seconds to relax the muscles and improve flexibility."),
    "outro": ("The trainer wraps up the workout, thanks the viewers for watching and invites them to like and "
              "subscribe. No exercise is performed.",),
}


def description(kind: str, rng: np.random.Generator | None = None) -> str:
    """A 2–5 sentence description of an exercise or workout segment, as GPT-3.5 wrote them for FiMAD.

    Args:
        kind: canonical kind ("jump_squat", "rest", ...). An unknown kind gets a generic text built from its words.
        rng: picks one of a few phrasings; None gives the one canonical text per kind (deterministic).

    Returns:
        The description, plain text.
    """
    if not isinstance(kind, str) or not kind.strip():
        raise ValueError(f"description: kind must be a non-empty string, got {kind!r}")
    pick = (lambda n: 0) if rng is None else (lambda n: int(rng.integers(n)))
    if kind in NON_EXERCISE_KINDS:
        texts = NON_EXERCISE_TEXT[kind]
        return texts[pick(len(texts))]
    if kind not in FACTS:
        name = CANONICAL_DISPLAY.get(kind, kind.replace("_", " ").strip())
        return (f"The {name} is a fitness exercise demonstrated by the trainer in this segment. Follow the "
                f"trainer's form, move with control and breathe steadily throughout the movement.")
    intro, how, mistake, benefit = FACTS[kind]
    frame = _FRAMES[pick(len(_FRAMES))]
    return frame.format(intro=intro, how=how, how_lc=how[0].lower() + how[1:], mistake=mistake, benefit=benefit)
