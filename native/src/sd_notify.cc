// sd_notify(3) from the calling process itself: one datagram to $NOTIFY_SOCKET per message, so that
// systemd attributes it to the main PID and `NotifyAccess=main` accepts it (a `systemd-notify` child
// process would be another PID). Node has no unix datagram sockets, hence this small addon.
#include "glibc_floor.h"  // first: binds symbols to versions older systems have
#include <napi.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace {

// notify(socketPath, message): sends `message` as one datagram; '@' at the start of the path names
// a socket in the abstract namespace, as systemd documents for $NOTIFY_SOCKET.
Napi::Value Notify(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsString()) {
    throw Napi::TypeError::New(env, "notify(socketPath: string, message: string)");
  }
  const std::string path = info[0].As<Napi::String>().Utf8Value();
  const std::string message = info[1].As<Napi::String>().Utf8Value();

  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    throw Napi::Error::New(env, "NOTIFY_SOCKET path is empty or too long: \"" + path + "\"");
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  if (path[0] == '@') addr.sun_path[0] = '\0';
  const socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() +
                                               (path[0] == '@' ? 0 : 1));

  const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw Napi::Error::New(env, std::string("socket(AF_UNIX) failed: ") + strerror(errno));
  const ssize_t sent = sendto(fd, message.data(), message.size(), MSG_NOSIGNAL,
                              reinterpret_cast<const sockaddr*>(&addr), len);
  const int err = errno;
  close(fd);
  if (sent < 0) {
    throw Napi::Error::New(env, "sending to NOTIFY_SOCKET " + path + " failed: " + strerror(err));
  }
  return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("notify", Napi::Function::New(env, Notify, "notify"));
  return exports;
}

}  // namespace

NODE_API_MODULE(coral_sd_notify, Init)
