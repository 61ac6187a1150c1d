// Reading fix_embedding's profile settings (see settings.hpp).
#include "fix_embedding/settings.hpp"

#include "rebench/errors.hpp"
#include "rebench/profile.hpp"

namespace rebench::fix_embedding {

namespace {
constexpr const char* kWhere = "/environments/fix_embedding";
}

Json ReferenceRecipe::to_json() const {
  return {{"init", init == ReferenceInit::kCorrupted ? "corrupted" : "normal"},
          {"train", train.to_json()}};
}

Settings settings_of(const Profile& profile) {
  const Json json = profile.settings_for("fix_embedding");
  ConfigReader reader(profile.file(), json, kWhere);
  Settings s;
  s.profile_file = profile.file();
  const std::string device = reader.string("device");
  if (device != "cuda" && device != "cpu") reader.fail("device", "expected \"cuda\" or \"cpu\"");
  s.cuda = device == "cuda";
  s.heldout_windows = reader.integer("heldout_windows");
  if (s.heldout_windows < 16 || s.heldout_windows > 100000)
    reader.fail("heldout_windows", "expected 16 … 100000 windows");
  s.eval_batch = reader.integer("eval_batch");
  if (s.eval_batch < 1 || s.eval_batch > 4096) reader.fail("eval_batch", "expected 1 … 4096");
  if (!reader.has("loss_offset_c")) reader.fail("loss_offset_c", "expected a number or null");
  const Json& c = reader.raw("loss_offset_c");
  if (c.is_number()) {
    s.loss_offset_c = c.get<double>();
    if (!(*s.loss_offset_c >= 0.0 && *s.loss_offset_c < 20.0))
      reader.fail("loss_offset_c", "expected a number in [0, 20) (nats/token)");
  } else if (!c.is_null()) {
    reader.fail("loss_offset_c", "expected a number, or null while not chosen yet");
  }
  const double max_mb = reader.number("max_checkpoint_mb");
  if (!(max_mb >= 1 && max_mb <= 16384)) reader.fail("max_checkpoint_mb", "expected 1 … 16384");
  s.max_checkpoint_bytes = static_cast<std::uint64_t>(max_mb * 1024 * 1024);

  ConfigReader ref = reader.object("reference");
  const std::string init = ref.string("init");
  if (init == "corrupted")
    s.reference.init = ReferenceInit::kCorrupted;
  else if (init == "normal")
    s.reference.init = ReferenceInit::kNormal;
  else
    ref.fail("init", "expected \"corrupted\" or \"normal\"");
  s.reference.train = lm::TrainConfig::from_json(ref.raw("train"), profile.file(),
                                                 std::string(kWhere) + "/reference/train");
  if (!s.reference.train.trainable.empty() &&
      s.reference.train.trainable != std::vector<std::string>{"transformer.wte."})
    ref.fail("train",
             "trains only the embedding: leave out \"trainable\" (it is always "
             "[\"transformer.wte.\"])");
  s.reference.train.trainable = {"transformer.wte."};
  return s;
}

}  // namespace rebench::fix_embedding
