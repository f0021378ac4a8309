"""`api_key=None` over HTTP: every LangChain component sends the key found in `MAVI_API_KEY`."""

from __future__ import annotations

import pytest

from langchain_mavi import ChatMavi, MaviVideoChatTool, MaviVideoRetriever
from mavi_core.emulator import MaviEmulator


@pytest.mark.integration
def test_api_key_none_talks_to_mavi_with_the_environments_key(
    emulator: MaviEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAVI_API_KEY", emulator.api_key)
    monkeypatch.setenv("MAVI_BASE_URL", emulator.base_url)
    video = emulator.video_nos[:1]

    answer = ChatMavi(video_nos=video, api_key=None).invoke("What happens at sunrise?")
    result = MaviVideoChatTool(video_nos=video, api_key=None).invoke({"question": "Who is there?"})
    retriever = MaviVideoRetriever(video_nos=video, api_key=None, with_transcript=False)
    docs = retriever.invoke("sunrise")

    assert answer.text
    assert result
    assert docs
    assert {request.path for request in emulator.requests} == {
        "/api/serve/video/chat",
        "/api/serve/video/searchVideoFragment",
    }
