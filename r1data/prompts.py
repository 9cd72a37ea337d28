"""Prompt templates: how a problem becomes chat messages for the model's chat template."""

from __future__ import annotations

from dataclasses import dataclass

from r1data.errors import ConfigError

R1_ZERO_SYSTEM = (
    "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. "
    "The assistant first thinks about the reasoning process in the mind and then provides the user with the "
    "answer. The reasoning process is enclosed within <think> </think> tags, followed by the answer, i.e., "
    "<think> reasoning process here </think> answer here."
)
BOXED_USER = "{problem}\nPlease reason step by step, and put your final answer within \\boxed{{}}."

CODE_USER = (
    "{problem}\n\nSolve this in Python 3. Think it through, then give the complete solution in one "
    "```python code block at the end."
)
BUILTIN = {
    "boxed": (None, BOXED_USER),
    "r1-zero": (R1_ZERO_SYSTEM, "{problem}\nPut the final answer within \\boxed{{}}."),
    "code": (None, CODE_USER),
}


def template_error(template: str) -> str | None:
    """Why a user template cannot be filled (checked when the config is built, not after a model has loaded)."""
    try:
        template.format(problem="")
    except (IndexError, KeyError, ValueError) as exc:
        return (
            f"it cannot be filled ({type(exc).__name__}: {exc}): braces other than {{problem}} must be doubled, "
            "e.g. 'Put the final answer within \\boxed{{}}.'"
        )
    return None


@dataclass(frozen=True)
class PromptTemplate:
    system: str | None = None
    user: str = BOXED_USER

    @classmethod
    def build(cls, name: str = "boxed", system: str | None = None, user: str | None = None) -> PromptTemplate:
        if name not in BUILTIN:
            raise ConfigError(f"--prompt must be one of {', '.join(BUILTIN)} (got '{name}')")
        base_system, base_user = BUILTIN[name]
        template = cls(system if system is not None else base_system, user if user is not None else base_user)
        if "{problem}" not in template.user:
            raise ConfigError("--user-template must contain {problem}")
        if (why := template_error(template.user)) is not None:
            raise ConfigError(f"--user-template: {why}")
        return template

    def messages(self, problem: str) -> list[dict[str, str]]:
        msgs = [{"role": "system", "content": self.system}] if self.system else []
        return [*msgs, {"role": "user", "content": self.user.format(problem=problem)}]
