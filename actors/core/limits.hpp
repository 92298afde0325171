#pragma once

// What a client or a peer may send at most; anything past it is refused
// with a message that names the limit. The HTTP front enforces the request
// limits when it parses a body, verifiers and the supervisor enforce them
// again on what arrives from other nodes (see validate.hpp).

#include <cstddef>

namespace duet::limits {

/// Names of nodes, instances, consumers; addresses.
constexpr size_t name = 128;
/// Task ids (`<8 hex digits>-<counter>`).
constexpr size_t task_id = 64;
/// Key ids.
constexpr size_t key_id = 128;
/// Hex digits of a signature (a 16384-bit RSA key).
constexpr size_t signature_hex = 4096;
/// Bytes of one text to verify (front.body-limit cannot exceed it).
constexpr size_t text = 64 * 1024 * 1024;
/// Requests in one batch (fronts send at most 32).
constexpr size_t batch = 256;
/// Instance slots of one verifier node (verifier.instances).
constexpr size_t slots = 256;
/// Verifier nodes in a registry.
constexpr size_t nodes = 1024;
/// Fronts subscribed to one supervisor.
constexpr size_t subscribers = 256;
/// Consumers a front keeps track of per hub (and members of one hub).
constexpr size_t members = 1024;
/// Hubs in choreography.hubs.
constexpr size_t hubs = 16;
/// Tasks a consumer remembers without a result.
constexpr size_t seen_tasks = 100000;
/// Bytes of a human-readable message in a result or an answer.
constexpr size_t message = 1024;
/// Distinct names in a per-name counter (answers per verifier); the rest are
/// counted together under "other".
constexpr size_t counted_names = 256;
/// Open `GET /api/events` streams on one front; more get 503.
constexpr size_t event_streams = 16;

} // namespace duet::limits
