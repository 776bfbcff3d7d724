"""simple-ntc: Korean-friendly text classification and dialogue summarization on PyTorch-Ignite."""
from pathlib import Path

from setuptools import find_packages, setup


def requirements(name: str) -> list[str]:
    lines = (Path(__file__).parent / name).read_text().splitlines()
    return [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip() and not line.startswith("-r")]


setup(
    name="simple-ntc",
    version="0.1.0",
    description="Text classification (RNN, CNN, ensemble, BERT-family) and dialogue summarization "
    "(BART-family) with hand-written PyTorch-Ignite engines",
    long_description=(Path(__file__).parent / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["simple_ntc", "simple_ntc.*", "chat_summarization", "chat_summarization.*"]),
    python_requires=">=3.10",
    install_requires=requirements("requirements.txt"),
    extras_require={"dev": requirements("requirements-dev.txt")},
)
