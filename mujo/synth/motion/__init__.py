"""Synthetic workout motion: body model, exercise library, workout composition and pose-estimator noise."""

from mujo.synth.motion.angles import DOFS, N_DOFS
from mujo.synth.motion.body import Body, forward_kinematics
from mujo.synth.motion.exercises import EXERCISES, ExerciseParams, run_exercise
from mujo.synth.motion.noise import estimator_noise
from mujo.synth.motion.nonexercise import NON_EXERCISES, NonExerciseSpec, run_nonexercise
from mujo.synth.motion.spec import CATEGORIES, EQUIPMENT, ExerciseSpec
from mujo.synth.motion.workout import ChapterMotion, ChapterPlan, WorkoutMotion, workout_motion

__all__ = [
    "Body", "forward_kinematics", "DOFS", "N_DOFS",
    "EXERCISES", "ExerciseSpec", "ExerciseParams", "run_exercise", "CATEGORIES", "EQUIPMENT",
    "NON_EXERCISES", "NonExerciseSpec", "run_nonexercise",
    "ChapterPlan", "ChapterMotion", "WorkoutMotion", "workout_motion", "estimator_noise",
]
