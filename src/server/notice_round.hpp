// Presence notices held back for the rest of a loop turn, so that k joins (or leaves) of one
// group in a turn cost each member ONE delivery, not k: at the end of the turn every member gets
// the notices meant for it as one frame, the notices joined by '\n' (the batching of
// docs/protocol.md, which every client already splits). Without it, filling a group of n
// members costs n²/2 deliveries.
//
// A NoticeRound is per thread: an I/O thread (run_io_thread) makes one and calls end_turn() at
// the end of every round, before the round's writes are issued. A thread without one (tests
// calling the hub directly, other threads) delivers every notice at once, as before.
//
// Who gets what is unchanged (docs/protocol.md, Presence): the hub numbers notices and members
// (Hub::deliver_held), so a member gets only notices published after it joined; a group's held
// notices go out before any message to the group, and before a member leaves the group.
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "broker.hpp"

namespace sb::server {

class Hub;

// One notice held for a group: its number (Hub::notice_seq_), scope and subject.
struct HeldNotice {
  std::uint64_t seq = 0;
  Publication::Scope scope = Publication::Scope::UserLevel;
  std::string about_cid;
  Frame frame;
};

class NoticeRound {
 public:
  NoticeRound();   // becomes this thread's round (the previous one, if any, comes back after)
  ~NoticeRound();  // delivers what is still held
  NoticeRound(const NoticeRound&) = delete;
  NoticeRound& operator=(const NoticeRound&) = delete;

  static NoticeRound* current();  // this thread's, or nullptr: deliver at once

  // Delivers every held notice (the end of a loop turn).
  void end_turn();

  // For the hub:
  void hold(Hub* hub, const Publication& pub, std::uint64_t seq);
  bool holds(const Hub* hub) const;
  void release(Hub* hub, const std::string& group);  // delivers one group's held notices now
  void forget(const Hub* hub);                       // the hub is going: drop its notices

 private:
  struct HubNotices {
    Hub* hub;
    std::unordered_map<std::string, std::vector<HeldNotice>> groups;
  };
  HubNotices* find(const Hub* hub);
  std::vector<HubNotices> hubs_;  // usually one
  std::size_t held_ = 0;          // notices held, all hubs
  NoticeRound* previous_;
};

}  // namespace sb::server
