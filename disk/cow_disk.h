// CowDisk: a disk made of a UML COW file over a read-only backing file.
//
// Reads pick, sector by sector, the COW file (bit set) or the backing file
// (bit clear), as uml_moo does -- not the real UML's multi-segment offset
// bug (uml-interfaces.md §3.5). Bytes past the end of either file read as
// zeros. Writes always go to the COW file; a partial write of a sector that
// is still in the backing file first copies the rest of that sector.
//
// Crash safety: a set bit on disk must never point at data that is not on
// disk. So a write puts its data into the COW file and sets the bits in
// memory only; Flush() makes the data durable (fdatasync), then writes the
// changed bitmap bytes, then makes those durable. A crash between flushes
// loses the unflushed writes (the guest never saw them acknowledged as
// durable) but never exposes garbage. With `write_through` (ubd flag `s`,
// the COW opened O_SYNC) every write stores its bits right after its data.
//
// The on-disk bitmap is only ever written inside [bitmap_offset,
// bitmap_offset + bitmap_bytes): garbage UML leaves around it stays.
//
// Thread safety: reads share a lock, writes/flushes/discards take it
// exclusively.
#ifndef KUML_DISK_COW_DISK_H_
#define KUML_DISK_COW_DISK_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "disk/block_backend.h"
#include "disk/cow_format.h"
#include "util/unique_fd.h"

namespace kuml {

class CowDisk : public BlockBackend {
 public:
  struct Options {
    bool read_only = false;
    bool write_through = false;  // persist bits with every write (flag s)
    bool discard = false;        // offer Discard (punch holes in the COW)
    // The tools accept a backing size that is not a multiple of 512 (the
    // last sector is partial), as uml_moo does; a guest disk does not.
    bool allow_partial_sector = false;
  };

  // Takes over both descriptors, opened (and locked) as the caller wants;
  // the backing file is only ever read. Reads the bitmap. Fails when the
  // header's sector size is not 512, or the COW file is too short to hold
  // the bitmap its header promises.
  static absl::StatusOr<std::unique_ptr<CowDisk>> Open(
      UniqueFd cow_fd, std::string cow_path, CowHeader header,
      UniqueFd backing_fd, std::string backing_path, Options options);

  // Flushes (errors are printed to stderr: there is no one to return them to).
  ~CowDisk() override;

  const CowHeader& header() const { return header_; }
  const std::string& cow_path() const { return cow_path_; }
  const std::string& backing_path() const { return backing_path_; }
  int cow_fd() const { return cow_fd_.get(); }

  // Whether sector `sector` currently lives in the COW file.
  bool SectorInCow(uint64_t sector) const;
  // How many sectors live in the COW file.
  uint64_t SectorsInCow() const;

  // BlockBackend:
  uint64_t size_bytes() const override { return header_.size; }
  bool read_only() const override { return options_.read_only; }
  absl::Status ReadAt(uint64_t offset, absl::Span<uint8_t> dst) override;
  absl::Status WriteAt(uint64_t offset, absl::Span<const uint8_t> src) override;
  absl::Status Flush() override;
  bool supports_discard() const override { return options_.discard; }
  // Whole sectors only: punches the range out of the COW file and marks it
  // present there, so it reads as zeros (what UML does).
  absl::Status Discard(uint64_t offset, uint64_t length) override;

 private:
  // Bitmap bytes are written back in chunks of this many.
  static constexpr uint64_t kDirtyChunkBytes = 512;

  CowDisk(UniqueFd cow_fd, std::string cow_path, CowHeader header,
          UniqueFd backing_fd, std::string backing_path, Options options,
          std::vector<uint8_t> bitmap);

  absl::Status CheckRange(uint64_t offset, uint64_t length) const;
  bool Bit(uint64_t sector) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Reads [offset, offset + dst.size()) from one side.
  absl::Status ReadSide(bool from_cow, uint64_t offset,
                        absl::Span<uint8_t> dst) const;
  // Fails when a sector in [first, last] has no bitmap bit (v1/v2 tail).
  absl::Status CheckWritable(uint64_t first, uint64_t last) const;
  // Sets bits first..last in memory and marks their chunks dirty.
  void SetBits(uint64_t first, uint64_t last)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Writes the dirty bitmap chunks to the COW file.
  absl::Status WriteDirtyBitmap() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status DataSync() const;
  uint64_t SectorEnd(uint64_t sector) const;

  const UniqueFd cow_fd_;
  const std::string cow_path_;
  const CowHeader header_;
  const UniqueFd backing_fd_;
  const std::string backing_path_;
  const Options options_;

  mutable absl::Mutex mu_;
  std::vector<uint8_t> bitmap_ ABSL_GUARDED_BY(mu_);
  std::vector<bool> dirty_chunks_ ABSL_GUARDED_BY(mu_);
  bool any_dirty_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace kuml

#endif  // KUML_DISK_COW_DISK_H_
