from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
MATCH_KIND_EXACT: MatchKind
MATCH_KIND_SEMANTIC: MatchKind
MATCH_KIND_UNSPECIFIED: MatchKind
SOURCE_CACHE: Source
SOURCE_COALESCED: Source
SOURCE_LLM: Source
SOURCE_UNSPECIFIED: Source

class AskRequest(_message.Message):
    __slots__ = ["max_error_rate", "messages", "min_similarity", "no_cache", "no_store", "prompt", "scope", "ttl_seconds"]
    MAX_ERROR_RATE_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    MIN_SIMILARITY_FIELD_NUMBER: _ClassVar[int]
    NO_CACHE_FIELD_NUMBER: _ClassVar[int]
    NO_STORE_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    max_error_rate: float
    messages: _containers.RepeatedCompositeFieldContainer[ChatMessage]
    min_similarity: float
    no_cache: bool
    no_store: bool
    prompt: str
    scope: Scope
    ttl_seconds: int
    def __init__(self, prompt: _Optional[str] = ..., messages: _Optional[_Iterable[_Union[ChatMessage, _Mapping]]] = ..., scope: _Optional[_Union[Scope, _Mapping]] = ..., min_similarity: _Optional[float] = ..., ttl_seconds: _Optional[int] = ..., no_cache: bool = ..., no_store: bool = ..., max_error_rate: _Optional[float] = ...) -> None: ...

class AskResponse(_message.Message):
    __slots__ = ["cache_unavailable", "entry_id", "explored_entry_id", "finish_reason", "matched_prompt", "model", "response", "similarity", "source", "usage"]
    CACHE_UNAVAILABLE_FIELD_NUMBER: _ClassVar[int]
    ENTRY_ID_FIELD_NUMBER: _ClassVar[int]
    EXPLORED_ENTRY_ID_FIELD_NUMBER: _ClassVar[int]
    FINISH_REASON_FIELD_NUMBER: _ClassVar[int]
    MATCHED_PROMPT_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    SIMILARITY_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    cache_unavailable: bool
    entry_id: str
    explored_entry_id: str
    finish_reason: str
    matched_prompt: str
    model: str
    response: str
    similarity: float
    source: Source
    usage: Usage
    def __init__(self, response: _Optional[str] = ..., source: _Optional[_Union[Source, str]] = ..., similarity: _Optional[float] = ..., entry_id: _Optional[str] = ..., matched_prompt: _Optional[str] = ..., usage: _Optional[_Union[Usage, _Mapping]] = ..., cache_unavailable: bool = ..., finish_reason: _Optional[str] = ..., model: _Optional[str] = ..., explored_entry_id: _Optional[str] = ...) -> None: ...

class AskStreamEnd(_message.Message):
    __slots__ = ["cache_unavailable", "entry_id", "explored_entry_id", "finish_reason", "usage"]
    CACHE_UNAVAILABLE_FIELD_NUMBER: _ClassVar[int]
    ENTRY_ID_FIELD_NUMBER: _ClassVar[int]
    EXPLORED_ENTRY_ID_FIELD_NUMBER: _ClassVar[int]
    FINISH_REASON_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    cache_unavailable: bool
    entry_id: str
    explored_entry_id: str
    finish_reason: str
    usage: Usage
    def __init__(self, finish_reason: _Optional[str] = ..., usage: _Optional[_Union[Usage, _Mapping]] = ..., entry_id: _Optional[str] = ..., cache_unavailable: bool = ..., explored_entry_id: _Optional[str] = ...) -> None: ...

class AskStreamRequest(_message.Message):
    __slots__ = ["max_error_rate", "messages", "min_similarity", "no_cache", "no_store", "prompt", "scope", "ttl_seconds"]
    MAX_ERROR_RATE_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    MIN_SIMILARITY_FIELD_NUMBER: _ClassVar[int]
    NO_CACHE_FIELD_NUMBER: _ClassVar[int]
    NO_STORE_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    max_error_rate: float
    messages: _containers.RepeatedCompositeFieldContainer[ChatMessage]
    min_similarity: float
    no_cache: bool
    no_store: bool
    prompt: str
    scope: Scope
    ttl_seconds: int
    def __init__(self, prompt: _Optional[str] = ..., messages: _Optional[_Iterable[_Union[ChatMessage, _Mapping]]] = ..., scope: _Optional[_Union[Scope, _Mapping]] = ..., min_similarity: _Optional[float] = ..., ttl_seconds: _Optional[int] = ..., no_cache: bool = ..., no_store: bool = ..., max_error_rate: _Optional[float] = ...) -> None: ...

class AskStreamResponse(_message.Message):
    __slots__ = ["delta", "end", "start"]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    delta: str
    end: AskStreamEnd
    start: AskStreamStart
    def __init__(self, start: _Optional[_Union[AskStreamStart, _Mapping]] = ..., delta: _Optional[str] = ..., end: _Optional[_Union[AskStreamEnd, _Mapping]] = ...) -> None: ...

class AskStreamStart(_message.Message):
    __slots__ = ["cache_unavailable", "matched_prompt", "model", "similarity", "source"]
    CACHE_UNAVAILABLE_FIELD_NUMBER: _ClassVar[int]
    MATCHED_PROMPT_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    SIMILARITY_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    cache_unavailable: bool
    matched_prompt: str
    model: str
    similarity: float
    source: Source
    def __init__(self, source: _Optional[_Union[Source, str]] = ..., similarity: _Optional[float] = ..., matched_prompt: _Optional[str] = ..., cache_unavailable: bool = ..., model: _Optional[str] = ...) -> None: ...

class CacheEntry(_message.Message):
    __slots__ = ["created_at", "expires_at", "hits", "id", "learned_boundary", "metadata", "observations", "prompt", "response", "scope"]
    class MetadataEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    HITS_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    LEARNED_BOUNDARY_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    OBSERVATIONS_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    created_at: _timestamp_pb2.Timestamp
    expires_at: _timestamp_pb2.Timestamp
    hits: int
    id: str
    learned_boundary: float
    metadata: _containers.ScalarMap[str, str]
    observations: int
    prompt: str
    response: str
    scope: Scope
    def __init__(self, id: _Optional[str] = ..., prompt: _Optional[str] = ..., response: _Optional[str] = ..., scope: _Optional[_Union[Scope, _Mapping]] = ..., created_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., expires_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., hits: _Optional[int] = ..., metadata: _Optional[_Mapping[str, str]] = ..., observations: _Optional[int] = ..., learned_boundary: _Optional[float] = ...) -> None: ...

class ChatMessage(_message.Message):
    __slots__ = ["content", "role"]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    content: str
    role: str
    def __init__(self, role: _Optional[str] = ..., content: _Optional[str] = ...) -> None: ...

class FeedbackRequest(_message.Message):
    __slots__ = ["correct", "entry_id", "prompt", "scope"]
    CORRECT_FIELD_NUMBER: _ClassVar[int]
    ENTRY_ID_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    correct: bool
    entry_id: str
    prompt: str
    scope: Scope
    def __init__(self, entry_id: _Optional[str] = ..., prompt: _Optional[str] = ..., scope: _Optional[_Union[Scope, _Mapping]] = ..., correct: bool = ...) -> None: ...

class FeedbackResponse(_message.Message):
    __slots__ = ["learned_boundary", "observations", "similarity"]
    LEARNED_BOUNDARY_FIELD_NUMBER: _ClassVar[int]
    OBSERVATIONS_FIELD_NUMBER: _ClassVar[int]
    SIMILARITY_FIELD_NUMBER: _ClassVar[int]
    learned_boundary: float
    observations: int
    similarity: float
    def __init__(self, similarity: _Optional[float] = ..., observations: _Optional[int] = ..., learned_boundary: _Optional[float] = ...) -> None: ...

class FlushRequest(_message.Message):
    __slots__ = ["all", "namespace"]
    ALL_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    all: bool
    namespace: str
    def __init__(self, namespace: _Optional[str] = ..., all: bool = ...) -> None: ...

class FlushResponse(_message.Message):
    __slots__ = ["deleted"]
    DELETED_FIELD_NUMBER: _ClassVar[int]
    deleted: int
    def __init__(self, deleted: _Optional[int] = ...) -> None: ...

class IndexParameters(_message.Message):
    __slots__ = ["algorithm", "ef_construction", "ef_search", "m", "metric"]
    ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    EF_CONSTRUCTION_FIELD_NUMBER: _ClassVar[int]
    EF_SEARCH_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    M_FIELD_NUMBER: _ClassVar[int]
    algorithm: str
    ef_construction: int
    ef_search: int
    m: int
    metric: str
    def __init__(self, algorithm: _Optional[str] = ..., metric: _Optional[str] = ..., m: _Optional[int] = ..., ef_construction: _Optional[int] = ..., ef_search: _Optional[int] = ...) -> None: ...

class ListEntriesRequest(_message.Message):
    __slots__ = ["limit", "namespace"]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    limit: int
    namespace: str
    def __init__(self, namespace: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class ListEntriesResponse(_message.Message):
    __slots__ = ["entries"]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[CacheEntry]
    def __init__(self, entries: _Optional[_Iterable[_Union[CacheEntry, _Mapping]]] = ...) -> None: ...

class LookupRequest(_message.Message):
    __slots__ = ["max_error_rate", "min_similarity", "prompt", "scope"]
    MAX_ERROR_RATE_FIELD_NUMBER: _ClassVar[int]
    MIN_SIMILARITY_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    max_error_rate: float
    min_similarity: float
    prompt: str
    scope: Scope
    def __init__(self, prompt: _Optional[str] = ..., scope: _Optional[_Union[Scope, _Mapping]] = ..., min_similarity: _Optional[float] = ..., max_error_rate: _Optional[float] = ...) -> None: ...

class LookupResponse(_message.Message):
    __slots__ = ["candidate", "candidate_similarity", "entry", "hit", "kind", "similarity", "threshold", "uncertain"]
    CANDIDATE_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_SIMILARITY_FIELD_NUMBER: _ClassVar[int]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    HIT_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SIMILARITY_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    UNCERTAIN_FIELD_NUMBER: _ClassVar[int]
    candidate: CacheEntry
    candidate_similarity: float
    entry: CacheEntry
    hit: bool
    kind: MatchKind
    similarity: float
    threshold: float
    uncertain: bool
    def __init__(self, hit: bool = ..., kind: _Optional[_Union[MatchKind, str]] = ..., similarity: _Optional[float] = ..., entry: _Optional[_Union[CacheEntry, _Mapping]] = ..., threshold: _Optional[float] = ..., uncertain: bool = ..., candidate: _Optional[_Union[CacheEntry, _Mapping]] = ..., candidate_similarity: _Optional[float] = ...) -> None: ...

class Scope(_message.Message):
    __slots__ = ["model", "namespace", "params"]
    class ParamsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    MODEL_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    model: str
    namespace: str
    params: _containers.ScalarMap[str, str]
    def __init__(self, namespace: _Optional[str] = ..., model: _Optional[str] = ..., params: _Optional[_Mapping[str, str]] = ...) -> None: ...

class StatsRequest(_message.Message):
    __slots__ = ["namespace"]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    def __init__(self, namespace: _Optional[str] = ...) -> None: ...

class StatsResponse(_message.Message):
    __slots__ = ["cache_errors", "coalesced_calls", "default_threshold", "embedding_dimension", "entries", "exact_hits", "explorations", "feedback_received", "flushes", "guard_rejections", "hit_rate", "index", "llm_calls", "lookups", "misses", "model_id", "semantic_hits", "served_then_judged_wrong", "store_kind", "stores", "tokens_saved"]
    CACHE_ERRORS_FIELD_NUMBER: _ClassVar[int]
    COALESCED_CALLS_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_DIMENSION_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    EXACT_HITS_FIELD_NUMBER: _ClassVar[int]
    EXPLORATIONS_FIELD_NUMBER: _ClassVar[int]
    FEEDBACK_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    FLUSHES_FIELD_NUMBER: _ClassVar[int]
    GUARD_REJECTIONS_FIELD_NUMBER: _ClassVar[int]
    HIT_RATE_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    LLM_CALLS_FIELD_NUMBER: _ClassVar[int]
    LOOKUPS_FIELD_NUMBER: _ClassVar[int]
    MISSES_FIELD_NUMBER: _ClassVar[int]
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    SEMANTIC_HITS_FIELD_NUMBER: _ClassVar[int]
    SERVED_THEN_JUDGED_WRONG_FIELD_NUMBER: _ClassVar[int]
    STORES_FIELD_NUMBER: _ClassVar[int]
    STORE_KIND_FIELD_NUMBER: _ClassVar[int]
    TOKENS_SAVED_FIELD_NUMBER: _ClassVar[int]
    cache_errors: int
    coalesced_calls: int
    default_threshold: float
    embedding_dimension: int
    entries: int
    exact_hits: int
    explorations: int
    feedback_received: int
    flushes: int
    guard_rejections: int
    hit_rate: float
    index: IndexParameters
    llm_calls: int
    lookups: int
    misses: int
    model_id: str
    semantic_hits: int
    served_then_judged_wrong: int
    store_kind: str
    stores: int
    tokens_saved: int
    def __init__(self, entries: _Optional[int] = ..., lookups: _Optional[int] = ..., exact_hits: _Optional[int] = ..., semantic_hits: _Optional[int] = ..., misses: _Optional[int] = ..., hit_rate: _Optional[float] = ..., stores: _Optional[int] = ..., model_id: _Optional[str] = ..., embedding_dimension: _Optional[int] = ..., store_kind: _Optional[str] = ..., index: _Optional[_Union[IndexParameters, _Mapping]] = ..., default_threshold: _Optional[float] = ..., llm_calls: _Optional[int] = ..., coalesced_calls: _Optional[int] = ..., tokens_saved: _Optional[int] = ..., cache_errors: _Optional[int] = ..., guard_rejections: _Optional[int] = ..., flushes: _Optional[int] = ..., explorations: _Optional[int] = ..., feedback_received: _Optional[int] = ..., served_then_judged_wrong: _Optional[int] = ...) -> None: ...

class StoreRequest(_message.Message):
    __slots__ = ["metadata", "prompt", "response", "scope", "ttl_seconds"]
    class MetadataEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    METADATA_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    metadata: _containers.ScalarMap[str, str]
    prompt: str
    response: str
    scope: Scope
    ttl_seconds: int
    def __init__(self, prompt: _Optional[str] = ..., response: _Optional[str] = ..., scope: _Optional[_Union[Scope, _Mapping]] = ..., ttl_seconds: _Optional[int] = ..., metadata: _Optional[_Mapping[str, str]] = ...) -> None: ...

class StoreResponse(_message.Message):
    __slots__ = ["expires_at", "id", "replaced"]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    REPLACED_FIELD_NUMBER: _ClassVar[int]
    expires_at: _timestamp_pb2.Timestamp
    id: str
    replaced: bool
    def __init__(self, id: _Optional[str] = ..., replaced: bool = ..., expires_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Usage(_message.Message):
    __slots__ = ["completion_tokens", "prompt_tokens", "tokens_saved"]
    COMPLETION_TOKENS_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TOKENS_SAVED_FIELD_NUMBER: _ClassVar[int]
    completion_tokens: int
    prompt_tokens: int
    tokens_saved: int
    def __init__(self, prompt_tokens: _Optional[int] = ..., completion_tokens: _Optional[int] = ..., tokens_saved: _Optional[int] = ...) -> None: ...

class MatchKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class Source(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
